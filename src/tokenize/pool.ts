import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { Deque } from '../control/deque.js';
import { type Cancellable, type CancelScope, CancelledError } from '../mem/cancel-scope.js';
import type { DecodeResult, EncodeResult, EncodeTask, WorkerInit } from './protocol.js';
import { QWEN3_TOKENIZER_SHA256, defaultTokenizerPath } from './tokenizer-file.js';

export interface TokenizerPoolOptions {
  threads: number;
  /** Encode tasks that may wait for a worker; beyond, encode() rejects with TokenizerBusy (default 256). */
  maxQueue?: number;
  tokenizerPath?: string;
  /** Expected sha256 of tokenizer.json; defaults to the pinned Qwen3 hash for the default file. */
  sha256?: string | null;
}

/** The compiled worker, also when this module runs from src/ under a TS loader (tests). */
function workerFile(): string {
  const here = fileURLToPath(import.meta.url);
  const js = here.replace(/pool\.(ts|js)$/, 'worker.js');
  if (existsSync(js)) return js;
  const dist = js.replace(/([\\/])src([\\/])tokenize([\\/])worker\.js$/, '$1dist$2src$2tokenize$3worker.js');
  if (existsSync(dist)) return dist;
  throw new Error(`tokenizer worker not found at ${js} or ${dist}; run npm run build`);
}

/** The tokenizer's waiting line is full: answered 429 with Retry-After. */
export class TokenizerBusy extends Error {
  constructor(readonly limit: number) {
    super(`the tokenizer queue is full (${limit} tasks waiting; scorecar --tokenizer-max-queue)`);
    this.name = 'TokenizerBusy';
  }
}

/** A task's deadline passed while it waited for a worker: it was dropped unrun. */
export class TokenizeExpired extends Error {
  constructor() {
    super('the request reached its deadline while waiting for a tokenizer worker');
    this.name = 'TokenizeExpired';
  }
}

/** The part of a request's CancelScope the pool uses: a waiting task is dropped when it is cancelled. */
export type TaskScope = Pick<CancelScope, 'cancelled' | 'add' | 'delete'>;

/** One encode task waiting for a worker. */
class Waiting implements Cancellable {
  done = false;
  constructor(
    readonly pool: TokenizerPool,
    readonly task: EncodeTask,
    readonly deadlineAt: number,
    readonly scope: TaskScope | undefined,
    readonly resolve: (r: EncodeResult) => void,
    readonly reject: (e: Error) => void,
  ) {}

  cancel(): void {
    if (this.done) return;
    this.done = true;
    this.pool.left();
    this.reject(new CancelledError());
  }
}

/**
 * Tokenizer worker threads. One task per client request: per-task cost on the main thread is
 * far higher than per-text cost, and ids come back in one transferred Int32Array.
 */
export class TokenizerPool {
  private readonly piscina: Piscina;
  readonly threads: number;
  readonly maxQueue: number;
  /** Encode tasks handed to piscina and not yet settled (at most 2 per thread). */
  private running = 0;
  /** Tasks waiting for a worker, FIFO; cancelled ones stay as tombstones until they reach the front. */
  private readonly waiting = new Deque<Waiting>();
  private live = 0;
  /** Tasks dropped unrun: their client left or their deadline passed while they waited. */
  dropped = 0;
  /** Tasks refused because the waiting line was full. */
  refused = 0;

  constructor(opts: TokenizerPoolOptions) {
    const tokenizerPath = opts.tokenizerPath ?? defaultTokenizerPath();
    const init: WorkerInit = {
      tokenizerPath,
      sha256:
        opts.sha256 !== undefined ? opts.sha256 : tokenizerPath === defaultTokenizerPath() ? QWEN3_TOKENIZER_SHA256 : null,
    };
    this.threads = Math.max(1, opts.threads);
    this.maxQueue = opts.maxQueue ?? 256;
    this.piscina = new Piscina({
      filename: workerFile(),
      minThreads: this.threads,
      maxThreads: this.threads,
      idleTimeout: 2 ** 31 - 1,
      workerData: init,
      // encode() keeps its own bounded, cancellable line and hands piscina at most two tasks per
      // thread, so piscina's queue stays short (room is left for decode and warm-up tasks).
      maxQueue: 4 * this.threads,
    });
  }

  /** Resolves once every worker has loaded the tokenizer. */
  async ready(): Promise<void> {
    const warm: Promise<unknown>[] = [];
    for (let i = 0; i < this.threads; i++) {
      warm.push(
        this.piscina.run({ type: 'encode', texts: ['warm up'], ops: new Int32Array([0, 0, 0]), wantEdges: false } satisfies EncodeTask),
      );
    }
    await Promise.all(warm);
  }

  /**
   * Tokenizes on a worker. At most two tasks per thread are running; the rest wait in a bounded
   * line (full: TokenizerBusy), and a waiting task is dropped unrun when its scope is cancelled
   * (CancelledError: the client left) or its deadline (performance.now() ms) has passed
   * (TokenizeExpired). A task already running finishes: stopping a worker would cost a restart.
   */
  encode(task: EncodeTask, scope?: TaskScope, deadlineAt = Number.POSITIVE_INFINITY): Promise<EncodeResult> {
    if (scope?.cancelled) return Promise.reject(new CancelledError());
    if (this.running < 2 * this.threads && this.live === 0) return this.start(task);
    if (this.live >= this.maxQueue) {
      this.refused++;
      return Promise.reject(new TokenizerBusy(this.maxQueue));
    }
    return new Promise<EncodeResult>((resolve, reject) => {
      const w = new Waiting(this, task, deadlineAt, scope, resolve, reject);
      this.waiting.pushBack(w);
      this.live++;
      scope?.add(w);
    });
  }

  /** @internal a waiting task was cancelled; it stays a tombstone, compacted when they pile up. */
  left(): void {
    this.live--;
    this.dropped++;
    if (this.waiting.length - this.live > this.maxQueue) this.waiting.retain((w) => !w.done);
  }

  private start(task: EncodeTask): Promise<EncodeResult> {
    this.running++;
    const p = this.run(task);
    p.then(this.finished, this.finished);
    return p;
  }

  private readonly finished = (): void => {
    this.running--;
    this.next();
  };

  private next(): void {
    while (this.running < 2 * this.threads) {
      const w = this.waiting.popFront();
      if (w === undefined) return;
      if (w.done) continue;
      w.done = true;
      this.live--;
      w.scope?.delete(w);
      if (performance.now() >= w.deadlineAt) {
        this.dropped++;
        w.reject(new TokenizeExpired());
        continue;
      }
      this.start(w.task).then(w.resolve, w.reject);
    }
  }

  private run(task: EncodeTask): Promise<EncodeResult> {
    const transfer: ArrayBuffer[] = [];
    if (task.bytes && task.bytes.buffer instanceof ArrayBuffer) transfer.push(task.bytes.buffer);
    if (task.spans && task.spans.buffer instanceof ArrayBuffer) transfer.push(task.spans.buffer);
    if (task.ops.buffer instanceof ArrayBuffer) transfer.push(task.ops.buffer);
    return this.piscina.run(task, { transferList: transfer }) as Promise<EncodeResult>;
  }

  async decode(ids: Int32Array, skipSpecialTokens: boolean): Promise<string> {
    const r = (await this.piscina.run({ type: 'decode', ids, skipSpecialTokens })) as DecodeResult;
    return r.text;
  }

  /** Encode tasks waiting for a worker (scorecar's line plus piscina's own). */
  get queueSize(): number {
    return this.live + this.piscina.queueSize;
  }

  get utilization(): number {
    return this.piscina.utilization;
  }

  async close(): Promise<void> {
    for (let w = this.waiting.popFront(); w !== undefined; w = this.waiting.popFront()) w.cancel();
    await this.piscina.destroy();
  }
}
