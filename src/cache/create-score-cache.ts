import { MemoryScoreCache } from './memory-score-cache.js';
import { OffScoreCache } from './off-score-cache.js';
import { RedisScoreCache } from './redis-score-cache.js';
import { isRedisSpec, toRedisUrl } from './redis-url.js';
import {
  DEFAULT_KEY_PREFIX,
  DEFAULT_LOOKUP_TIMEOUT_MS,
  DEFAULT_RECONNECT_MAX_DELAY_MS,
  DEFAULT_STORE_TIMEOUT_MS,
  type ScoreCache,
  type ScoreCacheOptions,
} from './score-cache.js';

/**
 * A score cache from a spec: 'memory', 'off', or a redis://, rediss://, valkey:// or valkeys://
 * URL (host:port[/db]). Returns at once; a Redis cache connects in the background (await
 * ready() to wait for it) and misses until connected. Throws on an unknown spec.
 */
export function createScoreCache(spec: string, opts: ScoreCacheOptions): ScoreCache {
  const trimmed = spec.trim();
  if (trimmed === 'memory') return new MemoryScoreCache(opts);
  if (trimmed === 'off') return new OffScoreCache();
  if (isRedisSpec(trimmed)) {
    return new RedisScoreCache({
      url: toRedisUrl(trimmed),
      ttlSeconds: opts.ttlSeconds,
      lookupTimeoutMs: opts.lookupTimeoutMs ?? DEFAULT_LOOKUP_TIMEOUT_MS,
      storeTimeoutMs: opts.storeTimeoutMs ?? DEFAULT_STORE_TIMEOUT_MS,
      keyPrefix: opts.keyPrefix ?? DEFAULT_KEY_PREFIX,
      reconnectMaxDelayMs: opts.reconnectMaxDelayMs ?? DEFAULT_RECONNECT_MAX_DELAY_MS,
      log: opts.log ?? (() => undefined),
      hasher: opts.hasher ?? null,
    });
  }
  throw new Error(`score cache: unknown spec '${spec}' (expected memory, off, redis://host:port[/db] or valkey://host:port[/db])`);
}
