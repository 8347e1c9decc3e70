import { type BackendInfo, type ScoringMode, sameIdentity } from './server-info.js';
import { BackendGroup, groupKey, routable } from './backend-group.js';
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

/** Makes the backend for a URL that discovery added. */
export type BackendFactory = (url: string) => SglangBackend;

/**
 * Healthy, discovered backends and the loop that keeps that true: /health on an interval, and
 * discovery (protocol, limits, model identity, tokenizer check) whenever a backend (re)appears,
 * whenever a new connection to it opened (it may have restarted between two health checks), and
 * at least every `identityIntervalMs` (weights can change in place: /update_weights_from_disk).
 *
 * Backends are grouped by identity (backend-group.ts); a request is routed to one group, keyed
 * in the cache by that group's identity and sent to that group's members only. Membership can
 * change at run time (discovery.ts): an added backend takes calls once it passed the checks
 * above; a removed one drains (no new calls, the ones in flight finish) and is then closed.
 */
export class BackendSet {
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  /** Bumped on every identity change: work that began under an older epoch must not be cached. */
  identityEpoch = 0;
  /** Every backend this set holds, draining ones included until they are closed. */
  readonly backends: SglangBackend[];
  private readonly groupMap = new Map<string, BackendGroup>();
  /** groupMap's values as an array: route() runs per request and a Map iterator is garbage. */
  private groupList: BackendGroup[] = [];
  private groupSeq = 0;
  private factory: BackendFactory | null = null;
  private readonly closing = new Set<Promise<void>>();

  constructor(
    backends: SglangBackend[],
    private readonly intervalMs: number,
    private readonly localTokenize: LocalTokenize,
    private readonly events: BackendSetEvents = {},
    private readonly identityIntervalMs = 10_000,
    /** Longest a removed backend may take to finish its calls before its pools are destroyed. */
    private readonly drainTimeoutMs = 60_000,
  ) {
    this.backends = [...backends];
    this.regroup();
  }

  /** Lets reconcile() create backends for URLs it has not seen. */
  setFactory(f: BackendFactory): void {
    this.factory = f;
  }

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
    await Promise.all(this.backends.map((b) => (b.draining ? this.reapIfIdle(b) : this.check(b))));
    this.regroup();
  }

  /** The groups by identity, each with at least one member. */
  groups(): IterableIterator<BackendGroup> {
    return this.groupMap.values();
  }

  /**
   * Makes the set hold exactly `urls` (normalized, duplicates ignored): new ones are probed at
   * once and take calls when the probe passes; missing ones drain. Returns what changed.
   */
  async reconcile(urls: readonly string[]): Promise<{ added: string[]; removed: string[] }> {
    const want = new Set(urls.map((u) => u.replace(/\/+$/, '')));
    const added: SglangBackend[] = [];
    const removed: string[] = [];
    for (const b of this.backends) {
      if (!b.draining && !want.has(b.url)) {
        b.draining = true;
        removed.push(b.url);
        this.events.log?.(`backend ${b.url}: removed by discovery, draining (${b.inflight} calls in flight)`);
      }
    }
    for (const url of want) {
      const existing = this.backends.find((b) => b.url === url);
      if (existing !== undefined) {
        if (existing.draining) {
          // Came back before it finished draining: take it back as it is.
          existing.draining = false;
          this.events.log?.(`backend ${url}: back in discovery, draining cancelled`);
        }
        continue;
      }
      if (this.factory === null) throw new Error('BackendSet.reconcile needs a factory (setFactory)');
      const b = this.factory(url);
      this.backends.push(b);
      added.push(b);
      this.events.log?.(`backend ${url}: added by discovery, probing before use`);
    }
    this.regroup();
    if (added.length > 0) {
      await Promise.all(added.map((b) => this.check(b)));
      this.regroup();
    }
    for (const b of this.backends) if (b.draining) void this.reapIfIdle(b);
    return { added: added.map((b) => b.url), removed };
  }

  private drainingSince = new WeakMap<SglangBackend, number>();

  /** Closes a draining backend once its calls are done (or its drain time is over). */
  private async reapIfIdle(b: SglangBackend): Promise<void> {
    const now = performance.now();
    const since = this.drainingSince.get(b) ?? now;
    this.drainingSince.set(b, since);
    const idle = b.inflight === 0 && b.passthroughInflight === 0;
    if (!idle && now - since < this.drainTimeoutMs) return;
    const i = this.backends.indexOf(b);
    if (i < 0) return;
    this.backends.splice(i, 1);
    this.regroup();
    this.events.log?.(`backend ${b.url}: drained${idle ? '' : ' (drain time over, calls cut)'}, closed`);
    const closing = (idle ? b.close() : b.destroy()).catch(() => {});
    this.closing.add(closing);
    await closing;
    this.closing.delete(closing);
  }

  /** Rebuilds the identity groups from the members' current identities. */
  private regroup(): void {
    for (const g of this.groupMap.values()) g.members.length = 0;
    for (const b of this.backends) {
      if (b.info === null) continue;
      const key = groupKey(b.info);
      let g = this.groupMap.get(key);
      if (g === undefined) {
        g = new BackendGroup(b.info, this.groupSeq++);
        this.groupMap.set(key, g);
      }
      g.members.push(b);
    }
    for (const [key, g] of this.groupMap) if (g.members.length === 0) this.groupMap.delete(key);
    this.groupList = [...this.groupMap.values()];
  }

  private async check(b: SglangBackend): Promise<void> {
    const ok = await b.checkHealth();
    if (b.draining) return;
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
        // Back after /health failed: a restarted server starts with a clean outlier record.
        if (!wasHealthy) {
          b.outlier.reset();
          b.latency.forget();
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

  /**
   * The group a request goes to. A request naming a served model (model path or served name)
   * goes to a group of that model, real SGLang before the emulator, a group with an available
   * backend before a fully ejected one, the newest weight version first (the one seen last:
   * during a rollout the new weights appear after the old). Any other request goes to the
   * default group: real before emulator, available first, the most backends, then the newest.
   * Null when no backend is healthy at all.
   */
  route(model: string | null, now = performance.now()): BackendGroup | null {
    let best: BackendGroup | null = null;
    let bestNamed = false;
    let bestAvail = false;
    const list = this.groupList;
    for (let i = 0; i < list.length; i++) {
      const g = list[i] as BackendGroup;
      if (!g.healthy()) continue;
      const named = model !== null && (g.info.modelPath === model || g.info.servedModelName === model);
      const avail = g.available(now);
      if (best === null) {
        best = g;
        bestNamed = named;
        bestAvail = avail;
        continue;
      }
      let better: boolean;
      if (named !== bestNamed) better = named;
      else if (g.info.emulator !== best.info.emulator) better = !g.info.emulator;
      else if (avail !== bestAvail) better = avail;
      else if (!named && g.members.length !== best.members.length) better = g.members.length > best.members.length;
      else better = g.seq > best.seq;
      if (better) {
        best = g;
        bestNamed = named;
        bestAvail = avail;
      }
    }
    return best;
  }

  /**
   * A backend of the default group (for passthrough and for what a backend reports: limits,
   * endpoint context, model name), optionally of one scoring mode; null when none is healthy.
   */
  pick(mode?: ScoringMode): SglangBackend | null {
    const now = performance.now();
    const g = this.route(null, now);
    if (g === null) return null;
    if (mode !== undefined && g.mode !== mode) {
      for (const other of this.groupMap.values()) {
        if (other.mode !== mode || !other.healthy()) continue;
        return other.pick(now) ?? other.members.find(routable) ?? null;
      }
      return null;
    }
    return g.pick(now) ?? g.members.find(routable) ?? null;
  }

  anyHealthy(): boolean {
    return this.pick() !== null;
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    await Promise.all([...this.backends.map((b) => b.close()), ...this.closing]);
  }
}

function sameIds(a: Int32Array, b: number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
