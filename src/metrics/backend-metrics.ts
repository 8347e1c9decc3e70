import { Counter, Gauge, type Registry } from 'prom-client';

/** What the metrics read of one backend at scrape time (see backend/sglang-backend.ts). */
export interface BackendSample {
  url: string;
  healthy: boolean;
  inflight: number;
  tokenizerMatch: boolean;
  ejected: boolean;
  breaker: 'closed' | 'open' | 'half-open';
  outstandingTokens: number;
  stats: {
    errors: Record<'5xx' | 'timeout' | 'reset' | 'connect' | '4xx', number>;
    retries: number;
    hedgesWon: number;
    hedgesLost: number;
  };
}

const BREAKER = ['closed', 'open', 'half-open'] as const;
const CLASSES = ['5xx', 'timeout', 'reset', 'connect', '4xx'] as const;

/**
 * Per-backend series of the fleet: up, ejected, breaker state, outstanding tokens, retries,
 * hedges and errors by class. Each scrape rewrites them from the backends' own counters, so a
 * backend removed by discovery drops out of /metrics with its series.
 */
export function registerBackendMetrics(registry: Registry, backends: () => BackendSample[], retryBudget: () => { allowed: number; refused: number }): void {
  const registers = [registry];
  const gauge = (name: string, help: string, read: (b: BackendSample) => number): void => {
    new Gauge({
      name,
      help,
      labelNames: ['backend'],
      registers,
      collect() {
        this.reset();
        for (const b of backends()) this.set({ backend: b.url }, read(b));
      },
    });
  };
  const counter = (name: string, help: string, read: (b: BackendSample) => number): void => {
    new Counter({
      name,
      help,
      labelNames: ['backend'],
      registers,
      collect() {
        this.reset();
        for (const b of backends()) this.inc({ backend: b.url }, read(b));
      },
    });
  };
  gauge('scorecar_backend_up', 'Backend health (1 healthy)', (b) => (b.healthy ? 1 : 0));
  gauge('scorecar_backend_inflight', 'Calls in flight per backend', (b) => b.inflight);
  gauge('scorecar_backend_tokenizer_match', 'Whether the backend tokenizes like scorecar (0: text is forwarded unchanged)', (b) => (b.tokenizerMatch ? 1 : 0));
  gauge('scorecar_backend_ejected', 'Whether passive outlier detection has ejected the backend (1 ejected)', (b) => (b.ejected ? 1 : 0));
  gauge('scorecar_backend_outstanding_tokens', 'Prompt tokens of the scoring calls in flight per backend (what the pick balances)', (b) => b.outstandingTokens);
  new Gauge({
    name: 'scorecar_backend_breaker_state',
    help: 'Outlier breaker state per backend (1 for the current state: closed, open = ejected, half-open = one trial call allowed)',
    labelNames: ['backend', 'state'],
    registers,
    collect() {
      this.reset();
      for (const b of backends()) for (const s of BREAKER) this.set({ backend: b.url, state: s }, b.breaker === s ? 1 : 0);
    },
  });
  counter('scorecar_backend_retries_total', 'Scoring calls sent to this backend as a retry of a failed call', (b) => b.stats.retries);
  counter('scorecar_backend_hedges_won_total', 'Hedged copies sent to this backend that answered first', (b) => b.stats.hedgesWon);
  counter('scorecar_backend_hedges_lost_total', 'Hedged copies sent to this backend that were cancelled because the first copy answered first', (b) => b.stats.hedgesLost);
  new Counter({
    name: 'scorecar_backend_errors_total',
    help: 'Failed scoring calls per backend, by class (5xx, timeout, reset, connect, 4xx)',
    labelNames: ['backend', 'class'],
    registers,
    collect() {
      this.reset();
      for (const b of backends()) for (const c of CLASSES) this.inc({ backend: b.url, class: c }, b.stats.errors[c]);
    },
  });
  new Counter({
    name: 'scorecar_retry_budget_total',
    help: 'Retries and hedges the retry budget allowed and refused',
    labelNames: ['outcome'],
    registers,
    collect() {
      this.reset();
      const r = retryBudget();
      this.inc({ outcome: 'allowed' }, r.allowed);
      this.inc({ outcome: 'refused' }, r.refused);
    },
  });
}
