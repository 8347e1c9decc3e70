import { LRUCache } from 'lru-cache';
import { numberKey } from '../mem/hash.js';

/** Ids of one text tokenized alone, plus the interned edges used to judge joins. */
export interface CachedTokens {
  ids: Int32Array;
  /** JoinOracle ids of the text's end and start edges (-1: not computed). */
  left: number;
  right: number;
  /** Extra key bits: the remaining hash bits and the byte length, checked on every hit. */
  check: number;
}

const ENTRY_OVERHEAD = 96;

/**
 * text -> token ids, keyed by a 64-bit hash of the bytes the client sent and bounded by bytes.
 * A hit costs a Map lookup and no allocation; the ids are shared, never copied.
 */
export class TokenCache {
  private readonly lru: LRUCache<number, CachedTokens>;
  hits = 0;
  misses = 0;

  constructor(maxBytes: number) {
    this.lru = new LRUCache<number, CachedTokens>({
      maxSize: Math.max(1024, maxBytes),
      sizeCalculation: (v) => v.ids.byteLength + ENTRY_OVERHEAD,
    });
  }

  static check(h2: number, byteLength: number): number {
    return ((h2 & 0x7ff) ^ Math.imul(byteLength, 0x9e3779b1)) | 0;
  }

  get(h1: number, h2: number, byteLength: number): CachedTokens | undefined {
    const e = this.lru.get(numberKey(h1, h2));
    if (e !== undefined && e.check === TokenCache.check(h2, byteLength)) {
      this.hits++;
      return e;
    }
    this.misses++;
    return undefined;
  }

  set(h1: number, h2: number, byteLength: number, ids: Int32Array, left: number, right: number): CachedTokens {
    const entry: CachedTokens = { ids, left, right, check: TokenCache.check(h2, byteLength) };
    this.lru.set(numberKey(h1, h2), entry);
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
