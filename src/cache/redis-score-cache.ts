import { timingSafeEqual } from 'node:crypto';
import { Redis } from 'ioredis';
import { DIGEST_BYTES, type KeyedHash } from '../mem/keyed-hash.js';
import { KEY_BYTES, checkKeyCount, checkRowBatch, checkStoreBatch } from './cache-key.js';
import { CacheCounters } from './cache-counters.js';
import { STORE_SCRIPT, STORE_SCRIPT_SHA } from './redis-store-script.js';
import { redactUrl } from './redis-url.js';
import type { ScoreCache, ScoreCacheStats } from './score-cache.js';

export interface RedisScoreCacheOptions {
  /** redis://[user:password@]host:port[/db] or rediss://... (valkey:// already rewritten). */
  url: string;
  ttlSeconds: number;
  /** A lookup that has no reply by then resolves all-miss. */
  lookupTimeoutMs: number;
  /** setMany resolves by then even if Redis has not answered (the write may still land). */
  storeTimeoutMs: number;
  /** Prepended to every key, so several deployments or key schemes can share a server. */
  keyPrefix: string;
  /** Upper bound of the reconnect backoff while Redis is away. */
  reconnectMaxDelayMs: number;
  log: (m: string) => void;
  /**
   * Keys the MAC each stored value carries over its key and value; values read back whose MAC
   * does not verify are dropped (counted in `rejected`). Null: values go unsigned (tests only).
   */
  hasher: KeyedHash | null;
}

/** How long a repeated command failure stays quiet in the log. */
const ERROR_LOG_INTERVAL_MS = 10_000;
const CLOSE_GRACE_MS = 500;

/**
 * Score cache shared by several scorecar replicas through Redis or Valkey. One MGET per
 * getMany, one EVALSHA per setMany. The cache is an optimisation only: a slow or absent server
 * costs hits, never requests. Commands are never queued while disconnected (they fail at once),
 * never retried, and never awaited past a deadline; ioredis reconnects in the background with a
 * capped backoff, and hits resume when the server is back.
 */
export class RedisScoreCache implements ScoreCache {
  readonly kind = 'redis' as const;
  private readonly client: Redis;
  private readonly counters = new CacheCounters();
  private readonly prefix: Buffer;
  private readonly ttlArg: string;
  /** Whether the server is known to hold the store script; EVAL (which caches it) is sent until it does. */
  private scriptCached = false;
  private connectedOnce = false;
  private reportedDown = false;
  private lastErrorLogAt = -Infinity;
  private closed = false;
  private readonly macScratch = Buffer.alloc(DIGEST_BYTES);

  constructor(private readonly opts: RedisScoreCacheOptions) {
    if (!(opts.ttlSeconds > 0)) throw new RangeError(`score cache: ttlSeconds must be > 0, got ${opts.ttlSeconds}`);
    this.prefix = Buffer.from(opts.keyPrefix, 'utf8');
    this.ttlArg = String(Math.max(1, Math.round(opts.ttlSeconds * 1000)));
    const socketTimeout = Math.max(1000, 20 * opts.lookupTimeoutMs);
    this.client = new Redis(opts.url, {
      // Fail fast instead of queueing: a lookup that waits for a reconnect is worth nothing.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      retryStrategy: (times: number) => Math.min(times * 50, opts.reconnectMaxDelayMs),
      connectTimeout: Math.max(1000, opts.reconnectMaxDelayMs),
      // A hung server (stopped, overloaded) keeps the socket open; this drops it so the
      // pending commands fail and the client reconnects.
      socketTimeout,
      // RESP2: no HELLO round trip, and any Redis-protocol server since 2.6 works.
      protocol: 2,
      disableClientInfo: true,
      lazyConnect: false,
    });
    this.client.on('ready', () => this.onReady());
    this.client.on('error', (err: Error) => this.onConnectionError(err));
  }

  /** Resolves true once connected, false if that takes longer than timeoutMs. Optional: until then lookups miss. */
  ready(timeoutMs = 2000): Promise<boolean> {
    if (this.client.status === 'ready') return Promise.resolve(true);
    if (this.closed) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      const onReady = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.client.off('ready', onReady);
        resolve(false);
      }, timeoutMs);
      this.client.once('ready', onReady);
    });
  }

  getMany(keys: Uint8Array, n: number, out: Array<Buffer | null>): Promise<number> {
    checkKeyCount(keys, n);
    const started = performance.now();
    if (n === 0) {
      this.counters.recordLookup(0, 0, 0);
      return Promise.resolve(0);
    }
    if (this.client.status !== 'ready') return Promise.resolve(this.missAll(n, out, started));
    const redisKeys = this.redisKeys(keys, n);
    return new Promise<number>((resolve) => {
      let settled = false;
      const timer = setTimeout(() => {
        if (settled) return;
        settled = true;
        // Late replies are dropped by `settled`: `out` belongs to the caller again from here on.
        resolve(this.missAll(n, out, started));
      }, this.opts.lookupTimeoutMs);
      this.client.mgetBuffer(redisKeys).then(
        (reply) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          let hits = 0;
          for (let i = 0; i < n; i++) {
            const v = this.verified(redisKeys[i] as Buffer, reply[i] ?? null);
            out[i] = v;
            if (v !== null) hits++;
          }
          this.counters.recordLookup(n, hits, (performance.now() - started) / 1000);
          resolve(hits);
        },
        (err: unknown) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          this.noteCommandError('lookup', err);
          resolve(this.missAll(n, out, started));
        },
      );
    });
  }

  setMany(keys: Uint8Array, which: Int32Array, m: number, values: Buffer[]): Promise<void> {
    checkStoreBatch(keys, which, m, values);
    if (m === 0) return Promise.resolve();
    if (this.client.status !== 'ready') {
      this.counters.errors++;
      return Promise.resolve();
    }
    // KEYS then ARGV in one array: [k_0..k_m-1, ttl, v_0..v_m-1]. ioredis serialises the
    // arguments while sending, so callers may reuse their buffers once this returns.
    const args: Array<Buffer | string> = new Array<Buffer | string>(2 * m + 1);
    const keySlab = Buffer.allocUnsafe(m * (this.prefix.length + KEY_BYTES));
    for (let j = 0; j < m; j++) args[j] = this.redisKey(keySlab, j, keys, which[j] as number);
    args[m] = this.ttlArg;
    for (let j = 0; j < m; j++) args[m + 1 + j] = this.signed(args[j] as Buffer, values[j] as Buffer);
    const viaEval = !this.scriptCached;
    const sent = viaEval ? this.client.eval(STORE_SCRIPT, m, args) : this.client.evalsha(STORE_SCRIPT_SHA, m, args);
    const stored = sent.then(
      () => {
        if (viaEval) this.scriptCached = true;
        this.counters.stores += m;
      },
      (err: unknown) => {
        // NOSCRIPT (server restarted, failed over or SCRIPT FLUSHed): this batch is lost, the
        // next one goes as EVAL. A cache can lose a batch; a second command per batch is not worth it.
        if (err instanceof Error && err.message.startsWith('NOSCRIPT')) this.scriptCached = false;
        this.noteCommandError('store', err);
      },
    );
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, this.opts.storeTimeoutMs);
      void stored.then(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /**
   * setMany from rows laid end to end, cut into a view each, as ioredis wants Buffers. No copy of
   * its own: setMany has ioredis serialise the values before it returns (see there).
   */
  setRows(keys: Uint8Array, which: Int32Array, m: number, src: Buffer, ends: Int32Array): Promise<void> {
    checkRowBatch(keys, which, m, src, ends);
    const values: Buffer[] = new Array<Buffer>(m);
    for (let j = 0; j < m; j++) values[j] = src.subarray(j === 0 ? 0 : (ends[j - 1] as number), ends[j] as number);
    return this.setMany(keys, which, m, values);
  }

  stats(): ScoreCacheStats {
    return this.counters.snapshot(0, 0);
  }

  /** Deletes this cache's keys (those under its prefix), leaving the rest of the database alone. */
  async clear(): Promise<void> {
    if (this.client.status !== 'ready') return;
    const pattern = this.opts.keyPrefix.replace(/[*?[\]\\]/g, '\\$&') + '*';
    try {
      let cursor = '0';
      do {
        const [next, found] = await this.client.scanBuffer(cursor, 'MATCH', pattern, 'COUNT', 1000);
        cursor = next.toString();
        if (found.length > 0) await this.client.unlink(found);
      } while (cursor !== '0');
    } catch (err) {
      this.noteCommandError('clear', err);
    }
  }

  /** Waits briefly for in-flight commands, then closes the connection and stops reconnecting. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.client.status === 'ready') {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        this.client.quit().catch(() => undefined),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, CLOSE_GRACE_MS);
        }),
      ]);
      clearTimeout(timer);
    }
    this.client.disconnect();
  }

  /** value + MAC(redis key, value): what is stored. */
  private signed(redisKey: Buffer, value: Buffer): Buffer {
    const h = this.opts.hasher;
    if (h === null) return value;
    const out = Buffer.allocUnsafe(value.length + DIGEST_BYTES);
    value.copy(out, 0);
    h.mac(redisKey, value, value.length, out, value.length);
    return out;
  }

  /** The value of a stored entry whose MAC verifies, else null (counted as rejected). */
  private verified(redisKey: Buffer, stored: Buffer | null): Buffer | null {
    const h = this.opts.hasher;
    if (stored === null || h === null) return stored;
    const len = stored.length - DIGEST_BYTES;
    if (len >= 0) {
      h.mac(redisKey, stored, len, this.macScratch, 0);
      if (timingSafeEqual(this.macScratch, stored.subarray(len))) return stored.subarray(0, len);
    }
    this.counters.rejected++;
    return null;
  }

  private missAll(n: number, out: Array<Buffer | null>, started: number): number {
    for (let i = 0; i < n; i++) out[i] = null;
    this.counters.errors++;
    this.counters.recordLookup(n, 0, (performance.now() - started) / 1000);
    return 0;
  }

  /** prefix + key bytes for keys 0..n-1, as views into one buffer. */
  private redisKeys(keys: Uint8Array, n: number): Buffer[] {
    const slab = Buffer.allocUnsafe(n * (this.prefix.length + KEY_BYTES));
    const result = new Array<Buffer>(n);
    for (let i = 0; i < n; i++) result[i] = this.redisKey(slab, i, keys, i);
    return result;
  }

  private redisKey(slab: Buffer, slot: number, keys: Uint8Array, index: number): Buffer {
    const size = this.prefix.length + KEY_BYTES;
    const at = slot * size;
    this.prefix.copy(slab, at);
    const from = index * KEY_BYTES;
    for (let b = 0; b < KEY_BYTES; b++) slab[at + this.prefix.length + b] = keys[from + b] as number;
    return slab.subarray(at, at + size);
  }

  private onReady(): void {
    // A new connection may be to a restarted or failed-over server without the script.
    this.scriptCached = false;
    if (!this.connectedOnce || this.reportedDown) this.opts.log(`score cache: connected to ${redactUrl(this.opts.url)}`);
    this.connectedOnce = true;
    this.reportedDown = false;
  }

  /** Connection-level errors: ioredis raises one per failed reconnect, so only the first of an outage is logged. */
  private onConnectionError(err: Error): void {
    if (this.reportedDown || this.closed) return;
    this.reportedDown = true;
    this.opts.log(`score cache: ${redactUrl(this.opts.url)} unavailable (${err.message}); lookups miss until it is back`);
  }

  private noteCommandError(what: string, err: unknown): void {
    this.counters.errors++;
    const now = performance.now();
    if (this.closed || this.reportedDown || now - this.lastErrorLogAt < ERROR_LOG_INTERVAL_MS) return;
    this.lastErrorLogAt = now;
    this.opts.log(`score cache: ${what} failed: ${err instanceof Error ? err.message : String(err)}`);
  }
}
