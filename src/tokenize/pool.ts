import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import type { DecodeResult, EncodeResult, EncodeTask, WorkerInit } from './protocol.js';
import { QWEN3_TOKENIZER_SHA256, defaultTokenizerPath } from './tokenizer-file.js';

export interface TokenizerPoolOptions {
  threads: number;
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

/**
 * Tokenizer worker threads. One task per client request: per-task cost on the main thread is
 * far higher than per-text cost, and ids come back in one transferred Int32Array.
 */
export class TokenizerPool {
  private readonly piscina: Piscina;
  readonly threads: number;

  constructor(opts: TokenizerPoolOptions) {
    const tokenizerPath = opts.tokenizerPath ?? defaultTokenizerPath();
    const init: WorkerInit = {
      tokenizerPath,
      sha256:
        opts.sha256 !== undefined ? opts.sha256 : tokenizerPath === defaultTokenizerPath() ? QWEN3_TOKENIZER_SHA256 : null,
    };
    this.threads = Math.max(1, opts.threads);
    this.piscina = new Piscina({
      filename: workerFile(),
      minThreads: this.threads,
      maxThreads: this.threads,
      idleTimeout: 2 ** 31 - 1,
      workerData: init,
      // Bursts queue here rather than fail; admission control belongs to the traffic shaper.
      maxQueue: Number.POSITIVE_INFINITY,
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

  encode(task: EncodeTask): Promise<EncodeResult> {
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

  get queueSize(): number {
    return this.piscina.queueSize;
  }

  get utilization(): number {
    return this.piscina.utilization;
  }

  async close(): Promise<void> {
    await this.piscina.destroy();
  }
}
