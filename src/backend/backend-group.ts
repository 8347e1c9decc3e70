import type { BackendInfo, ScoringMode } from './server-info.js';
import type { SglangBackend, TokenizerCheck } from './sglang-backend.js';

/**
 * The identity under which backends are interchangeable: same answers for the same request.
 * Model path and weight version first (the product's notion of "a model"), then what changes
 * the wire format or limits, and the emulator flag so emulated scores never share a group, a
 * pick or a cache entry with a real model's.
 */
export function groupKey(i: BackendInfo): string {
  return [
    i.emulator ? 'emulator' : 'sglang',
    i.modelPath,
    i.weightVersion,
    i.mode,
    i.misFlavor ?? '-',
    i.maxReqInputLen,
    i.contextLength,
    i.patches === null ? '-' : `${i.patches.exactPrefix ? 'p' : ''}${i.patches.labelHead ? 'l' : ''}`,
  ].join('|');
}

/**
 * Backends of one identity. A request routed here is keyed in the score cache by this identity
 * and sent to one of these backends only, so its cache key and its answer come from the same
 * model and weights.
 */
export class BackendGroup {
  /** The identity, spelled out. */
  readonly identity: string;
  /**
   * The coalescer's lane key: jobs only share a backend call within one group. Short (the
   * group's sequence number), since the coalescer builds a key string per request with it.
   */
  readonly key: string;
  readonly members: SglangBackend[] = [];
  readonly mode: ScoringMode;

  constructor(
    /** The identity snapshot every member had when it joined. */
    readonly info: BackendInfo,
    /** Order in which groups were first seen: the newest weight version of a model is the latest. */
    readonly seq: number,
  ) {
    this.identity = groupKey(info);
    this.key = String(seq);
    this.mode = info.mode;
  }

  /** 'match' only when every member tokenizes like scorecar: text is tokenized here only then. */
  get tokenizer(): TokenizerCheck {
    let seen: TokenizerCheck | null = null;
    for (const b of this.members) {
      if (!routable(b)) continue;
      if (b.tokenizer !== 'match') return b.tokenizer;
      seen = 'match';
    }
    return seen ?? 'unknown';
  }

  /** Whether some member could take a call now (healthy, not draining, not ejected). */
  available(now: number): boolean {
    const m = this.members;
    for (let i = 0; i < m.length; i++) {
      const b = m[i] as SglangBackend;
      if (routable(b) && b.outlier.available(now)) return true;
    }
    return false;
  }

  /** Whether some member is healthy, ejected or not: the group exists for routing purposes. */
  healthy(): boolean {
    const m = this.members;
    for (let i = 0; i < m.length; i++) if (routable(m[i] as SglangBackend)) return true;
    return false;
  }

  /** Ms until the earliest ejected member may take a trial call (for Retry-After). */
  msUntilTrial(now: number): number {
    let best = Infinity;
    for (const b of this.members) if (routable(b)) best = Math.min(best, b.outlier.msUntilTrial(now));
    return best;
  }

  /**
   * Power of two choices on outstanding prompt tokens (Mitzenmacher): two random available
   * members, the one with fewer tokens in flight wins; on a tie the one with the lower smoothed
   * latency. `exclude` holds backends this request already tried (retries go elsewhere).
   */
  pick(now: number, exclude?: readonly SglangBackend[]): SglangBackend | null {
    let a: SglangBackend | null = null;
    let b: SglangBackend | null = null;
    let seen = 0;
    // Reservoir sampling of two distinct candidates in one pass, no allocation.
    const members = this.members;
    for (let i = 0; i < members.length; i++) {
      const m = members[i] as SglangBackend;
      if (!routable(m) || !m.outlier.available(now)) continue;
      if (exclude !== undefined && exclude.includes(m)) continue;
      seen++;
      if (seen === 1) a = m;
      else if (seen === 2) b = m;
      else {
        const r = Math.floor(Math.random() * seen);
        if (r === 0) a = m;
        else if (r === 1) b = m;
      }
    }
    if (a === null || b === null) return a;
    if (a.outstandingTokens !== b.outstandingTokens) return a.outstandingTokens < b.outstandingTokens ? a : b;
    const la = a.latency.ewmaMs;
    const lb = b.latency.ewmaMs;
    if (la < lb) return a;
    if (lb < la) return b;
    return Math.random() < 0.5 ? a : b;
  }

  private p95At = Number.NEGATIVE_INFINITY;
  private p95Value = NaN;
  private scratch = new Float64Array(0);

  /**
   * The p95 latency of the members' recent good calls pooled together (NaN until 20 are known),
   * recomputed at most every 100 ms: the hedge delay. Pooled rather than per member, so a slow
   * member raises it only by its share of the calls.
   */
  p95Ms(now = performance.now()): number {
    if (now - this.p95At < 100) return this.p95Value;
    this.p95At = now;
    let total = 0;
    for (const b of this.members) if (routable(b)) total += b.latency.count;
    if (total < 20) return (this.p95Value = NaN);
    if (this.scratch.length < total) this.scratch = new Float64Array(total);
    let at = 0;
    for (const b of this.members) if (routable(b)) at += b.latency.copyInto(this.scratch, at);
    const s = this.scratch.subarray(0, at);
    s.sort();
    return (this.p95Value = s[Math.min(at - 1, Math.floor(at * 0.95))] as number);
  }
}

/** A member that may be routed to at all: healthy, identified and not being removed. */
export function routable(b: SglangBackend): boolean {
  return b.healthy && b.info !== null && !b.draining;
}
