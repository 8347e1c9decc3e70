import { KEY_BYTES, checkKeyCount, checkRowBatch, checkStoreBatch } from './cache-key.js';
import { CacheCounters } from './cache-counters.js';
import { EntryTable, NONE } from './entry-table.js';
import type { ScoreCache, ScoreCacheStats } from './score-cache.js';
import { ValueArena } from './value-arena.js';

/**
 * What one entry costs beyond its key and value bytes: its share of the typed-array columns
 * (links, expiry, value slab/offset/length: 28 B), its slot in the values list (8 B) and in the
 * slot table at a load factor of 1/2 or less (8-16 B), with room for the table's doubling.
 * Charging it keeps maxBytes close to the real footprint, since score rows are only 20-60 bytes.
 */
export const ENTRY_OVERHEAD_BYTES = 64;

/** Expired entries the store path checks per value stored, so that unread expired entries are reclaimed too. */
const SWEEP_PER_STORE = 4;

const FIRST_CAPACITY = 1024;

/** What a store returns: it is done when it returns, and one settled promise serves every call. */
const STORED: Promise<void> = Promise.resolve();

export interface MemoryScoreCacheOptions {
  ttlSeconds: number;
  maxBytes: number;
  /** Monotonic clock in milliseconds; tests inject one to step through expiry. */
  now?: () => number;
}

/** Bytes an entry is charged: key + value + ENTRY_OVERHEAD_BYTES. */
export function entryBytes(valueBytes: number): number {
  return KEY_BYTES + valueBytes + ENTRY_OVERHEAD_BYTES;
}

/**
 * In-process score cache: LRU bounded by bytes, with a TTL per entry (set at store time; hits do
 * not extend it). lookupNow and setRows, the request path's, allocate nothing per key: they walk
 * the EntryTable, copy values into the arena, and hand out the arena's buffers with bounds, so
 * callers must treat them as read-only. getMany and setMany (a Buffer per value) serve the rest.
 */
export class MemoryScoreCache implements ScoreCache {
  readonly kind = 'memory' as const;
  private readonly table: EntryTable;
  private readonly arena = new ValueArena();
  private readonly counters = new CacheCounters();
  private readonly ttlMs: number;
  private readonly maxBytes: number;
  private readonly clock: (() => number) | null;
  private bytes = 0;
  private sweepCursor = 0;
  /** Bounds of a getMany's hits, for its views. */
  private starts = new Int32Array(64);
  private ends = new Int32Array(64);

  constructor(opts: MemoryScoreCacheOptions) {
    if (!(opts.ttlSeconds > 0)) throw new RangeError(`score cache: ttlSeconds must be > 0, got ${opts.ttlSeconds}`);
    if (!(opts.maxBytes > 0)) throw new RangeError(`score cache: maxBytes must be > 0, got ${opts.maxBytes}`);
    this.ttlMs = opts.ttlSeconds * 1000;
    this.maxBytes = opts.maxBytes;
    this.clock = opts.now ?? null;
    // No more entries can ever fit than maxBytes allows at the smallest entry size.
    const maxEntries = Math.max(1, Math.floor(opts.maxBytes / entryBytes(0)));
    this.table = new EntryTable(Math.min(FIRST_CAPACITY, maxEntries), maxEntries);
  }

  /** The values as Buffers of their own (views of the arena): a view per hit, off the request path. */
  getMany(keys: Uint8Array, n: number, out: Array<Buffer | null>): Promise<number> {
    // Scratch up to 4,096 keys; a larger batch brings its own, so that it is not kept.
    if (this.starts.length < n && n <= 4096) {
      this.starts = new Int32Array(Math.min(4096, 2 * n));
      this.ends = new Int32Array(this.starts.length);
    }
    const starts = this.starts.length >= n ? this.starts : new Int32Array(n);
    const ends = this.ends.length >= n ? this.ends : new Int32Array(n);
    const hits = this.lookupNow(keys, n, out, starts, ends);
    for (let i = 0; i < n; i++) {
      const v = out[i];
      if (v !== null && v !== undefined) out[i] = v.subarray(starts[i], ends[i]);
    }
    return Promise.resolve(hits);
  }

  readonly lookupNow = (keys: Uint8Array, n: number, out: Array<Buffer | null>, start: Int32Array, end: Int32Array): number => {
    checkKeyCount(keys, n);
    const started = performance.now();
    const now = this.clock === null ? started : this.clock();
    const t = this.table;
    let hits = 0;
    for (let i = 0; i < n; i++) {
      const e = t.find(keys, i * KEY_BYTES);
      if (e === NONE) {
        out[i] = null;
      } else if ((t.expiresAt[e] as number) <= now) {
        this.drop(e);
        this.counters.expired++;
        out[i] = null;
      } else {
        t.touch(e);
        out[i] = t.values[e] as Buffer;
        const off = t.valueOff[e] as number;
        start[i] = off;
        end[i] = off + (t.valueLen[e] as number);
        hits++;
      }
    }
    this.counters.recordLookup(n, hits, (performance.now() - started) / 1000);
    return hits;
  };

  setMany(keys: Uint8Array, which: Int32Array, m: number, values: Buffer[]): Promise<void> {
    checkStoreBatch(keys, which, m, values);
    const now = this.now();
    const expiresAt = now + this.ttlMs;
    for (let j = 0; j < m; j++) {
      const value = values[j] as Buffer;
      this.store(keys, (which[j] as number) * KEY_BYTES, value, 0, value.length, expiresAt);
    }
    this.afterStores(now, m);
    return STORED;
  }

  setRows(keys: Uint8Array, which: Int32Array, m: number, src: Buffer, ends: Int32Array): Promise<void> {
    checkRowBatch(keys, which, m, src, ends);
    const now = this.now();
    const expiresAt = now + this.ttlMs;
    let from = 0;
    for (let j = 0; j < m; j++) {
      const to = ends[j] as number;
      this.store(keys, (which[j] as number) * KEY_BYTES, src, from, to, expiresAt);
      from = to;
    }
    this.afterStores(now, m);
    return STORED;
  }

  /** One value, src[from, to), under the key at keys[off]: replaces, evicts to make room, copies into the arena. */
  private store(keys: Uint8Array, off: number, src: Uint8Array, from: number, to: number, expiresAt: number): void {
    const t = this.table;
    const size = entryBytes(to - from);
    const old = t.find(keys, off);
    if (old !== NONE) this.drop(old);
    if (size > this.maxBytes) return;
    while ((this.bytes + size > this.maxBytes || !t.hasRoom()) && t.tail !== NONE) {
      this.drop(t.tail);
      this.counters.evictions++;
    }
    const arena = this.arena;
    const buf = arena.copyIn(src, from, to);
    t.insert(keys, off, expiresAt, buf, arena.lastOff, to - from, arena.lastSlab);
    this.bytes += size;
    this.counters.stores++;
  }

  /** Reclaims a few expired entries per value stored (at the batch's clock reading) and compacts when the arena is wasteful. */
  private afterStores(now: number, m: number): void {
    this.sweep(now, m * SWEEP_PER_STORE);
    if (this.arena.wasteful()) this.compact();
  }

  stats(): ScoreCacheStats {
    return this.counters.snapshot(this.table.size, this.bytes);
  }

  /** What the value bytes really occupy, for tests and diagnostics. */
  valueFootprint(): { liveBytes: number; slabBytes: number } {
    return { liveBytes: this.arena.liveBytes, slabBytes: this.arena.slabBytes };
  }

  ready(): Promise<boolean> {
    return Promise.resolve(true);
  }

  clear(): Promise<void> {
    this.table.clear();
    this.arena.clear();
    this.bytes = 0;
    this.sweepCursor = 0;
    return Promise.resolve();
  }

  close(): Promise<void> {
    return this.clear();
  }

  private now(): number {
    return this.clock === null ? performance.now() : this.clock();
  }

  private drop(e: number): void {
    const t = this.table;
    const len = t.valueLen[e] as number;
    this.arena.release(t.valueSlab[e] as number, len);
    this.bytes -= entryBytes(len);
    t.remove(e);
  }

  /** Reclaims expired entries nobody reads, a few per store, round-robin over the table. */
  private sweep(now: number, steps: number): void {
    const t = this.table;
    for (let k = 0; k < steps && t.size > 0; k++) {
      const e = this.sweepCursor < t.capacity ? this.sweepCursor : 0;
      this.sweepCursor = e + 1;
      if (t.values[e] !== null && (t.expiresAt[e] as number) <= now) {
        this.drop(e);
        this.counters.expired++;
      }
    }
  }

  /** Moves values out of mostly-dead slabs so those slabs can be freed. */
  private compact(): void {
    const arena = this.arena;
    if (!arena.markSparse()) return;
    const t = this.table;
    for (let e = 0; e < t.capacity; e++) {
      const value = t.values[e];
      const slab = t.valueSlab[e] as number;
      if (value === null || !arena.isMarked(slab)) continue;
      const off = t.valueOff[e] as number;
      const len = t.valueLen[e] as number;
      t.values[e] = arena.copyIn(value, off, off + len);
      t.valueOff[e] = arena.lastOff;
      t.valueSlab[e] = arena.lastSlab;
      arena.release(slab, len);
    }
  }
}
