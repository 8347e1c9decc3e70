import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { PrefillScheduler } from './scheduler.js';

/** SGLang's metric names (colon style), served by the emulator's /metrics. */
export class EmulatorMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<'model_name'>;
  readonly promptTokens: Counter<'model_name'>;
  readonly generationTokens: Counter<'model_name'>;
  readonly aborted: Counter<'model_name'>;
  readonly e2e: Histogram<'model_name'>;

  constructor(
    private readonly modelName: string,
    scheduler: PrefillScheduler,
  ) {
    const registers = [this.registry];
    const labelNames = ['model_name'] as const;
    this.requests = new Counter({ name: 'sglang:num_requests_total', help: 'Requests finished (emulated)', labelNames, registers });
    this.promptTokens = new Counter({ name: 'sglang:prompt_tokens_total', help: 'Prefill tokens processed (emulated)', labelNames, registers });
    this.generationTokens = new Counter({ name: 'sglang:generation_tokens_total', help: 'Generated tokens (emulated)', labelNames, registers });
    this.aborted = new Counter({ name: 'sglang:num_aborted_requests_total', help: 'Requests aborted by their client (emulated)', labelNames, registers });
    this.e2e = new Histogram({
      name: 'sglang:e2e_request_latency_seconds',
      help: 'End-to-end request latency (emulated)',
      labelNames,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    const model = this.modelName;
    new Gauge({
      name: 'sglang:num_queue_reqs',
      help: 'Sequences waiting for prefill (emulated)',
      labelNames,
      registers,
      collect() {
        this.set({ model_name: model }, scheduler.queuedSequences);
      },
    });
    new Gauge({
      name: 'sglang:num_running_reqs',
      help: 'Sequences in the current prefill step (emulated)',
      labelNames,
      registers,
      collect() {
        this.set({ model_name: model }, scheduler.stats.running);
      },
    });
  }

  finished(promptTokens: number, generated: number, seconds: number): void {
    const l = { model_name: this.modelName };
    this.requests.inc(l);
    this.promptTokens.inc(l, promptTokens);
    if (generated > 0) this.generationTokens.inc(l, generated);
    this.e2e.observe(l, seconds);
  }
}
