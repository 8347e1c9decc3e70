import type { ScoringMode } from './server-info.js';
import type { SglangBackend } from './sglang-backend.js';

/**
 * The probe compared with each backend's /tokenize at start. It mixes what breaks tokenizers:
 * contractions, accents, CJK, emoji, digits, whitespace runs and a chat special token.
 */
export const TOKENIZER_PROBE =
  "Senior ML Engineer (Zürich, remote-OK) — we're hiring! 机器学习 🚀 $180k-220k\n\n  <|im_end|> yes/no 12345";

export type LocalTokenize = (text: string) => Promise<Int32Array>;

export interface BackendSetEvents {
  onChange?(backend: SglangBackend): void;
  log?(msg: string): void;
}

/**
 * Healthy, discovered backends and the loop that keeps that true: /health on an interval,
 * discovery (protocol, limits, tokenizer check) whenever a backend (re)appears.
 */
export class BackendSet {
  private timer: NodeJS.Timeout | null = null;
  private running = false;

  constructor(
    readonly backends: SglangBackend[],
    private readonly intervalMs: number,
    private readonly localTokenize: LocalTokenize,
    private readonly events: BackendSetEvents = {},
  ) {}

  /** Runs one round of checks now, then keeps checking on the interval. */
  async start(): Promise<void> {
    this.running = true;
    await this.checkAll();
    const tick = (): void => {
      if (!this.running) return;
      void this.checkAll().finally(() => {
        if (this.running) this.timer = setTimeout(tick, this.intervalMs);
      });
    };
    this.timer = setTimeout(tick, this.intervalMs);
  }

  async checkAll(): Promise<void> {
    await Promise.all(this.backends.map((b) => this.check(b)));
  }

  private async check(b: SglangBackend): Promise<void> {
    const ok = await b.checkHealth();
    const wasHealthy = b.healthy;
    if (ok && (!wasHealthy || b.info === null)) {
      try {
        const info = await b.discover();
        const local = await this.localTokenize(TOKENIZER_PROBE);
        const remote = await b.tokenize(TOKENIZER_PROBE);
        b.tokenizer = remote === null ? 'unknown' : sameIds(local, remote) ? 'match' : 'mismatch';
        b.healthy = true;
        this.events.log?.(
          `backend ${b.url}: ${info.emulator ? 'EMULATOR, ' : ''}${info.mode === 'mis' ? `multi-item scoring (${info.misFlavor})` : 'single-item scoring'}, ` +
            `max_req_input_len ${info.maxReqInputLen}, model ${info.modelPath}, tokenizer ${b.tokenizer}` +
            (b.tokenizer === 'match' ? '' : ' (text is forwarded unchanged)'),
        );
      } catch (e) {
        b.healthy = false;
        b.lastError = String((e as Error)?.message ?? e);
      }
    } else {
      b.healthy = ok;
    }
    if (b.healthy !== wasHealthy) this.events.onChange?.(b);
  }

  /** The healthy backend with the fewest calls in flight (of one scoring mode), or null. */
  pick(mode?: ScoringMode): SglangBackend | null {
    let best: SglangBackend | null = null;
    for (const b of this.backends) {
      if (!b.healthy || b.info === null) continue;
      if (mode !== undefined && b.info.mode !== mode) continue;
      if (best === null || b.inflight < best.inflight) best = b;
    }
    return best;
  }

  anyHealthy(): boolean {
    return this.pick() !== null;
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    await Promise.all(this.backends.map((b) => b.close()));
  }
}

function sameIds(a: Int32Array, b: number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
