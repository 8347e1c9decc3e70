import { checkKeyCount } from './cache-key.js';
import { CacheCounters } from './cache-counters.js';
import type { ScoreCache, ScoreCacheStats } from './score-cache.js';

/** The cache turned off: every key misses and nothing is kept, but lookups still count so metrics read the same. */
export class OffScoreCache implements ScoreCache {
  readonly kind = 'off' as const;
  private readonly counters = new CacheCounters();

  getMany(keys: Uint8Array, n: number, out: Array<Buffer | null>): Promise<number> {
    return Promise.resolve(this.lookupNow(keys, n, out));
  }

  readonly lookupNow = (keys: Uint8Array, n: number, out: Array<Buffer | null>): number => {
    checkKeyCount(keys, n);
    for (let i = 0; i < n; i++) out[i] = null;
    this.counters.recordLookup(n, 0, 0);
    return 0;
  };

  setMany(): Promise<void> {
    return Promise.resolve();
  }

  setRows(): Promise<void> {
    return Promise.resolve();
  }

  stats(): ScoreCacheStats {
    return this.counters.snapshot(0, 0);
  }

  ready(): Promise<boolean> {
    return Promise.resolve(true);
  }

  clear(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
