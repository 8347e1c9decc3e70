import { type ClientDuplexStream, type ServiceError, status as Status } from '@grpc/grpc-js';
import type { ScoreRequestInit, ScoreStreamRequestInit, ScoreStreamResponseMsg } from '../api/grpc/messages.js';
import { type ScoreResult, ScorerError, scoreResult, timingFromMessage } from './codec.js';

interface Pending {
  resolve(r: ScoreResult): void;
  reject(e: Error): void;
}

/**
 * One ScoreStream: score() sends a request and resolves with its own answer, whatever order the
 * server answers in (requests are matched by id). end() half-closes and waits for the rest.
 */
export class ScoreStream {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private failure: ScorerError | null = null;
  private readonly done: Promise<void>;

  constructor(private readonly call: ClientDuplexStream<ScoreStreamRequestInit, ScoreStreamResponseMsg>) {
    call.on('data', (m: ScoreStreamResponseMsg) => this.onAnswer(m));
    this.done = new Promise<void>((resolve) => {
      call.on('error', (e: ServiceError) => {
        this.fail(ScorerError.fromServiceError(e));
        resolve();
      });
      call.on('status', (s: { code: number }) => {
        if (s.code === Status.OK) this.fail(new ScorerError(Status.INTERNAL, 'the stream ended before this request was answered', null));
        resolve();
      });
    });
  }

  /** Requests sent and not answered yet. */
  get inFlight(): number {
    return this.pending.size;
  }

  score(request: ScoreRequestInit, signal?: AbortSignal): Promise<ScoreResult> {
    if (this.failure) return Promise.reject(this.failure);
    // ids only need to be unique among requests in flight; skip any still waiting after a wrap.
    let id = this.nextId;
    while (this.pending.has(id)) id = (id % 0xffffffff) + 1;
    this.nextId = (id % 0xffffffff) + 1;
    return new Promise<ScoreResult>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      if (signal) {
        // The server still scores it; its answer is dropped when it comes.
        const onAbort = (): void => {
          if (this.pending.delete(id)) reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
        };
        if (signal.aborted) return onAbort();
        signal.addEventListener('abort', onAbort, { once: true });
      }
      this.call.write({ id, request });
    });
  }

  /** Half-closes the stream and waits until the server has answered everything and ended it. */
  async end(): Promise<void> {
    this.call.end();
    await this.done;
  }

  /** Cancels the stream; requests in flight fail with CANCELLED. */
  cancel(): void {
    this.call.cancel();
  }

  private onAnswer(m: ScoreStreamResponseMsg): void {
    const id = m.id ?? 0;
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    if (m.result === 'response') p.resolve(scoreResult(m.response, timingFromMessage(m.timing)));
    else if (m.result === 'error') p.reject(new ScorerError(m.error.code ?? Status.UNKNOWN, m.error.message ?? '', m.error.retryAfterS ? m.error.retryAfterS : null));
    else p.reject(new ScorerError(Status.INTERNAL, 'the server sent an answer without a result', null));
  }

  private fail(e: ScorerError): void {
    this.failure ??= e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }
}
