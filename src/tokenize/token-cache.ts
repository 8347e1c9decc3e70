import { LRUCache } from 'lru-cache';
import { keepIdText } from '../mem/byte-writer.js';
import { numberKey } from '../mem/hash.js';

/** Ids of one text tokenized alone, plus the interned edges used to judge joins. */
export interface CachedTokens {
  ids: Int32Array;
  /** JoinOracle ids of the text's end and start edges (-1: not computed). */
  left: number;
  right: number;
  /** The whole 128-bit key and the byte length, all checked on every hit. */
  k0: number;
  k1: number;
  k2: number;
  k3: number;
  byteLength: number;
  /** Bytes of the ids' ASCII form kept for body writing (mem/byte-writer.ts keepIdText). */
  textBytes: number;
}

/** The entry object, its map slot and its WeakMap slot for the ASCII form. */
const ENTRY_OVERHEAD = 160;

/**
 * text -> token ids, keyed by a keyed 128-bit hash of the bytes the client sent (four int32
 * lanes at hash[at .. at + 4), from mem/keyed-hash.ts) and bounded by bytes. The map is indexed
 * by 53 of those bits (a number key: a hit allocates nothing) and a hit must match all 128 and
 * the byte length, so two texts never share an entry unless their keyed hashes are equal. The
 * ids are shared, never copied.
 */
export class TokenCache {
  private readonly lru: LRUCache<number, CachedTokens>;
  hits = 0;
  misses = 0;

  constructor(maxBytes: number) {
    this.lru = new LRUCache<number, CachedTokens>({
      maxSize: Math.max(1024, maxBytes),
      sizeCalculation: (v) => v.ids.byteLength + v.textBytes + ENTRY_OVERHEAD,
    });
  }

  get(hash: Int32Array, at: number, byteLength: number): CachedTokens | undefined {
    const e = this.lru.get(numberKey(hash[at] as number, hash[at + 1] as number));
    if (e !== undefined && e.k0 === hash[at] && e.k1 === hash[at + 1] && e.k2 === hash[at + 2] && e.k3 === hash[at + 3] && e.byteLength === byteLength) {
      this.hits++;
      return e;
    }
    this.misses++;
    return undefined;
  }

  set(hash: Int32Array, at: number, byteLength: number, ids: Int32Array, left: number, right: number): CachedTokens {
    const entry: CachedTokens = {
      ids,
      left,
      right,
      k0: hash[at] as number,
      k1: hash[at + 1] as number,
      k2: hash[at + 2] as number,
      k3: hash[at + 3] as number,
      byteLength,
      // Printed once here (a miss, already paying for tokenizing), copied on every hit after.
      textBytes: keepIdText(ids),
    };
    this.lru.set(numberKey(entry.k0, entry.k1), entry);
    return entry;
  }

  get bytes(): number {
    return this.lru.calculatedSize;
  }

  get size(): number {
    return this.lru.size;
  }

  clear(): void {
    this.lru.clear();
  }
}
