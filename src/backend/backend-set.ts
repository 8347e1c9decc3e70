import { type BackendInfo, type ScoringMode, sameIdentity } from './server-info.js';
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
  /** A backend's identity (model, weights, mode, limits) changed since it was last read. */
  onIdentityChange?(backend: SglangBackend, before: BackendInfo, after: BackendInfo): void;
  log?(msg: string): void;
}

/**
 * Healthy, discovered backends and the loop that keeps that true: /health on an interval, and
 * discovery (protocol, limits, model identity, tokenizer check) whenever a backend (re)appears,
 * whenever a new connection to it opened (it may have restarted between two health checks), and
 * at least every `identityIntervalMs` (weights can change in place: /update_weights_from_disk).
 */
export class BackendSet {
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  /** Bumped on every identity change: work that began under an older epoch must not be cached. */
  identityEpoch = 0;

  constructor(
    readonly backends: SglangBackend[],
    private readonly intervalMs: number,
    private readonly localTokenize: LocalTokenize,
    private readonly events: BackendSetEvents = {},
    private readonly identityIntervalMs = 10_000,
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
    const now = performance.now();
    const due = !wasHealthy || b.info === null || b.identityStale || now - b.identityReadAt >= this.identityIntervalMs;
    if (ok && due) {
      const before = b.info;
      try {
        b.identityStale = false;
        const info = await b.discover();
        b.identityReadAt = now;
        const changed = before !== null && !sameIdentity(before, info);
        if (before !== null && !changed) b.info = before; // same identity: keep the object
        if (!wasHealthy || before === null || changed) {
          const local = await this.localTokenize(TOKENIZER_PROBE);
          const remote = await b.tokenize(TOKENIZER_PROBE);
          b.tokenizer = remote === null ? 'unknown' : sameIds(local, remote) ? 'match' : 'mismatch';
        }
        if (changed) {
          this.identityEpoch++;
          this.events.log?.(
            `backend ${b.url}: identity changed (model ${before.modelPath} -> ${info.modelPath}, weight_version ${before.weightVersion} -> ${info.weightVersion}, ` +
              `mode ${before.mode} -> ${info.mode}, max_req_input_len ${before.maxReqInputLen} -> ${info.maxReqInputLen}); entries keyed by the old identity are dropped`,
          );
          this.events.onIdentityChange?.(b, before, info);
        }
        b.healthy = true;
        if (!wasHealthy || before === null || changed) {
          this.events.log?.(
            `backend ${b.url}: ${info.emulator ? 'EMULATOR, ' : ''}${info.mode === 'mis' ? `multi-item scoring (${info.misFlavor})` : 'single-item scoring'}, ` +
              `max_req_input_len ${info.maxReqInputLen}, model ${info.modelPath}, weight_version ${info.weightVersion}, tokenizer ${b.tokenizer}` +
              (b.tokenizer === 'match' ? '' : ' (text is forwarded unchanged)'),
          );
        }
      } catch (e) {
        b.healthy = false;
        b.identityStale = true;
        b.lastError = String((e as Error)?.message ?? e);
      }
    } else {
      b.healthy = ok;
      if (!ok) b.identityStale = true;
    }
    if (b.healthy !== wasHealthy) this.events.onChange?.(b);
  }

  /** The healthy backend with the fewest calls in flight (of one scoring mode), or null. */
  pick(mode?: ScoringMode): SglangBackend | null {
    let best: SglangBackend | null = null;
    for (const b of this.backends) {
      if (!b.healthy || b.info === null) continue;
      if (mode !== undefined && b.info.mode !== mode) continue;
      // The emulator never mixes with real backends: a real one always wins.
      if (best !== null && best.info!.emulator !== b.info.emulator) {
        if (b.info.emulator) continue;
        best = b;
        continue;
      }
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
