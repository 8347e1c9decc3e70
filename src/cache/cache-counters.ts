import type { ScoreCacheStats } from './score-cache.js';

/** Mutable counters behind ScoreCache.stats(); plain number fields so recording never allocates. */
export class CacheCounters {
  lookups = 0;
  keysLooked = 0;
  hits = 0;
  misses = 0;
  errors = 0;
  lookupSecondsSum = 0;
  lookupSecondsMax = 0;
  stores = 0;
  evictions = 0;
  expired = 0;
  rejected = 0;

  /** One getMany of `n` keys with `hits` hits that took `seconds`. */
  recordLookup(n: number, hits: number, seconds: number): void {
    this.lookups++;
    this.keysLooked += n;
    this.hits += hits;
    this.misses += n - hits;
    this.lookupSecondsSum += seconds;
    if (seconds > this.lookupSecondsMax) this.lookupSecondsMax = seconds;
  }

  snapshot(entries: number, bytes: number): ScoreCacheStats {
    return {
      lookups: this.lookups,
      keysLooked: this.keysLooked,
      hits: this.hits,
      misses: this.misses,
      errors: this.errors,
      lookupSecondsSum: this.lookupSecondsSum,
      lookupSecondsMax: this.lookupSecondsMax,
      stores: this.stores,
      evictions: this.evictions,
      expired: this.expired,
      rejected: this.rejected,
      entries,
      bytes,
    };
  }
}
