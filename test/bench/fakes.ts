import type { BenchRequest, PromptPart, RequestSource, ScoreTarget, SendResult } from '../../bench/loadgen/target.js';

/** A request source over a fixed tiny prompt: for tests of timing, not of content. */
export function constantSource(items = 10): RequestSource {
  const part = (id: number): PromptPart => ({ id, text: `item ${id}`, ids: new Int32Array([id]) });
  const req: BenchRequest = { query: part(-1), items: Array.from({ length: items }, (_, i) => part(i)), page: 1, session: 0 };
  return { next: () => req };
}

function abortable(waitMs: number, signal: AbortSignal, result: SendResult): Promise<SendResult> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => resolve(result), Math.max(0, waitMs));
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        reject(new Error('aborted'));
      },
      { once: true },
    );
  });
}

/**
 * A single FIFO server with a fixed service time: capacity is exactly 1000 / serviceMs requests
 * per second. Completion times come from a virtual timeline, so timer lag only delays when an
 * answer is noticed, never the queue itself. Abandoned requests still occupy the server, as they
 * would a real one.
 */
export class QueueTarget implements ScoreTarget {
  readonly name = 'queue model';
  readonly kind = 'fake';
  readonly url = 'memory://queue';
  private freeAt = 0;
  sent = 0;

  constructor(private readonly serviceMs: number) {}

  send(_req: BenchRequest, signal: AbortSignal): Promise<SendResult> {
    this.sent++;
    const now = performance.now();
    this.freeAt = Math.max(now, this.freeAt) + this.serviceMs;
    return abortable(this.freeAt - now, signal, { status: 200 });
  }

  async close(): Promise<void> {}
}

/** Answers after a fixed delay with a status chosen per call (1-based call number). */
export class ScriptedTarget implements ScoreTarget {
  readonly name = 'scripted';
  readonly kind = 'fake';
  readonly url = 'memory://scripted';
  calls = 0;

  constructor(
    private readonly delayMs: number,
    private readonly statusOf: (call: number) => number | 'hang',
    /** Synchronous work inside send() on the given calls: blocks the event loop. */
    private readonly blockMsOf: (call: number) => number = () => 0,
  ) {}

  send(_req: BenchRequest, signal: AbortSignal): Promise<SendResult> {
    const call = ++this.calls;
    const block = this.blockMsOf(call);
    if (block > 0) {
      const until = performance.now() + block;
      while (performance.now() < until) {
        // Busy-wait on purpose: nothing else on this thread runs meanwhile.
      }
    }
    const status = this.statusOf(call);
    if (status === 'hang') return abortable(1e9, signal, { status: 200 });
    return abortable(this.delayMs, signal, { status });
  }

  async close(): Promise<void> {}
}
