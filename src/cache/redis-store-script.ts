import { createHash } from 'node:crypto';

/**
 * Stores a whole batch with one command. Layout: KEYS = the m keys, ARGV[1] = TTL in
 * milliseconds, ARGV[1 + i] = the value of KEYS[i]. Redis has no multi-key SET with expiry (MSET
 * takes none), so the loop runs server-side: Redis' INFO commandstats counts these inner SETs, but
 * the client sends one EVALSHA (or EVAL) per batch.
 */
export const STORE_SCRIPT = `local px = ARGV[1]
for i = 1, #KEYS do
  redis.call('SET', KEYS[i], ARGV[i + 1], 'PX', px)
end
return #KEYS`;

export const STORE_SCRIPT_SHA = createHash('sha1').update(STORE_SCRIPT).digest('hex');
