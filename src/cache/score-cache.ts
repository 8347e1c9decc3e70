import type { KeyedHash } from '../mem/keyed-hash.js';

export { KEY_BYTES } from './cache-key.js';

export interface ScoreCacheStats {
  /** getMany calls. */
  lookups: number;
  /** Keys asked for over all getMany calls (= hits + misses). */
  keysLooked: number;
  hits: number;
  misses: number;
  /** Backend failures: lookups that timed out or failed, stores dropped or refused. */
  errors: number;
  lookupSecondsSum: number;
  lookupSecondsMax: number;
  /** Values stored (acknowledged by the backend, for Redis). */
  stores: number;
  /** Entries pushed out to stay within maxBytes (memory only). */
  evictions: number;
  /** Entries reclaimed after their TTL (memory only; Redis expires keys itself). */
  expired: number;
  /** Values read back that failed their MAC (Redis only): dropped, counted as misses. */
  rejected: number;
  /** Live entries (memory only; 0 for Redis and off). */
  entries: number;
  /** Bytes charged against maxBytes (memory only). */
  bytes: number;
}

export interface ScoreCache {
  readonly kind: 'memory' | 'redis' | 'off';
  /**
   * Looks up n keys (key i = keys[16i, 16i+16)) in ONE round trip. Sets out[i] to the stored value
   * or null and resolves with the hit count. Never rejects: a failing backend counts an error and
   * reports all misses. Returned Buffers may be shared with the cache: read them, never write them.
   * Throws (synchronously) only on a batch that does not fit `keys`, a caller bug.
   */
  getMany(keys: Uint8Array, n: number, out: Array<Buffer | null>): Promise<number>;
  /**
   * getMany without the promise and without a Buffer per hit, for a cache that answers in
   * process (memory, off): sets out[i] to the buffer holding the value, which it shares with other
   * entries, and the value's bounds in it to start[i], end[i] (null on a miss); returns the hits.
   * Absent where a lookup is a round trip.
   */
  readonly lookupNow?: (keys: Uint8Array, n: number, out: Array<Buffer | null>, start: Int32Array, end: Int32Array) => number;
  /**
   * Stores values[j] under key which[j] (an index into keys) for j < m with the configured TTL, in
   * ONE round trip. Never rejects. The cache copies what it keeps; the caller may reuse keys, which
   * and values once this returns. Need not be awaited on the request path.
   */
  setMany(keys: Uint8Array, which: Int32Array, m: number, values: Buffer[]): Promise<void>;
  /**
   * setMany with the values laid end to end in one buffer: value j is src[ends[j - 1], ends[j])
   * (from 0 for j = 0). The request path's store, which needs no Buffer per value.
   */
  setRows(keys: Uint8Array, which: Int32Array, m: number, src: Buffer, ends: Int32Array): Promise<void>;
  stats(): ScoreCacheStats;
  /** Resolves true once the backend is usable (at once for memory and off), false after timeoutMs. */
  ready(timeoutMs?: number): Promise<boolean>;
  /** Drops every entry of this cache (for Redis: every key under its prefix). */
  clear(): Promise<void>;
  close(): Promise<void>;
}

export interface ScoreCacheOptions {
  ttlSeconds: number;
  /** Memory backend bound: keys + values + per-entry overhead. */
  maxBytes: number;
  /** Redis: a lookup without a reply by then resolves all-miss. Default 25. */
  lookupTimeoutMs?: number;
  /** Redis: setMany resolves by then even without a reply. Default 250. */
  storeTimeoutMs?: number;
  /** Redis key prefix. Default 'sc2:'; change it when the key scheme changes. */
  keyPrefix?: string;
  /** Redis: cap of the reconnect backoff. Default 1000. */
  reconnectMaxDelayMs?: number;
  /** Redis: MACs on stored values, keyed by the deployment secret (required for Redis). */
  hasher?: KeyedHash;
  /** Memory: monotonic clock in ms (tests). */
  now?: () => number;
  log?: (m: string) => void;
}

export const DEFAULT_LOOKUP_TIMEOUT_MS = 25;
export const DEFAULT_STORE_TIMEOUT_MS = 250;
export const DEFAULT_KEY_PREFIX = 'sc2:';
export const DEFAULT_RECONNECT_MAX_DELAY_MS = 1000;

