import { describe, expect, it } from 'vitest';
import { MemoryScoreCache } from '../../src/cache/memory-score-cache.js';
import { hashInts, hashOut } from '../../src/mem/hash.js';
import { KeyedHash } from '../../src/mem/keyed-hash.js';
import { backendContext, computeKeys, identify, lookupScoresNow, storeScores } from '../../src/pipeline/cache-stage.js';
import { ScoreJob } from '../../src/pipeline/score-job.js';

const hasher = await KeyedHash.create(Buffer.from('a test deployment secret, 32 B..'));
const ctx = backendContext(hasher, 'Qwen/Qwen3-0.6B', 'default', 'single', false);

/** The fixed-seed lanes the old score-cache key gave an ids item (seeds of the old identifyIds). */
function oldItemHash(ids: number[]): [number, number] {
  hashInts(Int32Array.from(ids), 0, ids.length, 0x1d5, 0x2e6);
  return [hashOut[0] as number, hashOut[1] as number];
}

/**
 * Two different two-id items with the same old 64-bit hash. After one id both lanes are
 * invertible xor-multiply steps, so [v1, v2] and [w1, w2] collide exactly when
 * a(v1) ^ b(v1) = a(w1) ^ b(w1) (a 32-bit birthday search) and w2 = a(w1) ^ a(v1) ^ v2.
 */
function oldCollision(): [number[], number[]] {
  const a0 = 0x1d5 ^ 2;
  const b0 = 0x2e6 ^ Math.imul(2, 0x85ebca6b);
  const stepA = (v: number): number => {
    const a = Math.imul(a0 ^ v, 0x01000193);
    return a ^ (a >>> 13);
  };
  const stepB = (v: number): number => {
    const b = Math.imul(b0 ^ v, 0x5bd1e995);
    return b ^ (b >>> 15);
  };
  const seen = new Map<number, number>();
  for (let v = 0; ; v++) {
    const d = stepA(v) ^ stepB(v);
    const u = seen.get(d);
    if (u !== undefined) return [[u, 7], [v, stepA(v) ^ stepA(u) ^ 7]];
    seen.set(d, v);
  }
}

function idsJob(query: number[], items: number[][]): ScoreJob {
  const j = new ScoreJob();
  j.kind = 'ids';
  j.reserve(items.length);
  j.queryOff = j.arenaUsed;
  for (const v of query) j.pushId(v);
  j.queryLen = query.length;
  j.n = items.length;
  items.forEach((it, i) => {
    const off = j.arenaUsed;
    for (const v of it) j.pushId(v);
    j.setItemIds(i, off, it.length);
  });
  j.pushLabel(9693);
  j.selectAll();
  identify(j, hasher);
  computeKeys(j, ctx, false, hasher);
  return j;
}

describe('score-cache keys', () => {
  it('items that collide under the old fixed-seed hash get different keys, and different entries', async () => {
    const [x, y] = oldCollision();
    expect(x).not.toEqual(y);
    expect(oldItemHash(x)).toEqual(oldItemHash(y));
    const a = idsJob([1, 2, 3], [x]);
    const b = idsJob([1, 2, 3], [y]);
    expect(Buffer.from(a.cacheKeys.subarray(0, 16)).equals(Buffer.from(b.cacheKeys.subarray(0, 16)))).toBe(false);
    const cache = new MemoryScoreCache({ ttlSeconds: 60, maxBytes: 1 << 20 });
    await cache.setMany(a.cacheKeys, Int32Array.of(0), 1, [Buffer.from('[0.9]')]);
    const out: Array<Buffer | null> = [null];
    expect(await cache.getMany(b.cacheKeys, 1, out)).toBe(0);
    expect(await cache.getMany(a.cacheKeys, 1, out)).toBe(1);
  });

  it('keys depend on the secret, the backend identity, the query, labels and item', () => {
    const base = idsJob([1, 2, 3], [[4, 5]]);
    const key = (j: ScoreJob): string => Buffer.from(j.cacheKeys.subarray(0, 16)).toString('hex');
    expect(key(idsJob([1, 2, 3], [[4, 5]]))).toBe(key(base));
    expect(key(idsJob([1, 2, 4], [[4, 5]]))).not.toBe(key(base));
    expect(key(idsJob([1, 2, 3], [[4, 6]]))).not.toBe(key(base));
    const labels = idsJob([1, 2, 3], [[4, 5]]);
    labels.pushLabel(2152);
    computeKeys(labels, ctx, false, hasher);
    expect(key(labels)).not.toBe(key(base));
    const newWeights = idsJob([1, 2, 3], [[4, 5]]);
    computeKeys(newWeights, backendContext(hasher, 'Qwen/Qwen3-0.6B', 'v2', 'single', false), false, hasher);
    expect(key(newWeights)).not.toBe(key(base));
    const emulated = idsJob([1, 2, 3], [[4, 5]]);
    computeKeys(emulated, backendContext(hasher, 'Qwen/Qwen3-0.6B', 'default', 'single', true), false, hasher);
    expect(key(emulated)).not.toBe(key(base));
  });

  it('another secret gives other keys', async () => {
    const other = await KeyedHash.create(Buffer.from('another deployment secret, 32 B.'));
    const a = idsJob([1], [[2]]);
    const b = idsJob([1], [[2]]);
    identify(b, other);
    computeKeys(b, backendContext(other, 'Qwen/Qwen3-0.6B', 'default', 'single', false), false, other);
    expect(Buffer.from(a.cacheKeys.subarray(0, 16)).equals(Buffer.from(b.cacheKeys.subarray(0, 16)))).toBe(false);
  });

  it('stores rows through setRows and reads them back through lookupNow, for a small request and one over the scratch cap', () => {
    const cache = new MemoryScoreCache({ ttlSeconds: 900, maxBytes: 64 * 1024 * 1024 });
    const rowOf = (k: number, i: number): string => `[${k}.${i},0.5]`;
    const scored = (k: number, n: number): ScoreJob => {
      const items = Array.from({ length: n }, (_, i) => [1000 + k, i + 1]);
      const job = idsJob([k, 2, 3], items);
      // The backend's rows, in one reply buffer, as readScoreReply leaves them.
      const reply = Buffer.from(items.map((_, i) => rowOf(k, i)).join(','));
      let at = 0;
      for (let i = 0; i < n; i++) {
        const len = Buffer.byteLength(rowOf(k, i));
        job.rowBuf[i] = reply;
        job.rowStart[i] = at;
        job.rowEnd[i] = at + len;
        at += len + 1;
      }
      return job;
    };
    // 17,000 items: more rows than storeScores' scratch takes, so that request brings its own buffers.
    const big = scored(1, 17_000);
    storeScores(big, cache, false);
    // A small request stored after it writes the scratch again; the big one's entries stay as stored.
    storeScores(scored(2, 3), cache, false);
    for (const [k, n] of [[1, 17_000], [2, 3]] as const) {
      const again = scored(k, n);
      expect(lookupScoresNow(again, cache)).toBe(n);
      expect(again.nActive).toBe(0);
      for (const i of [0, 1, n - 1]) expect((again.rowBuf[i] as Buffer).toString('latin1', again.rowStart[i], again.rowEnd[i])).toBe(rowOf(k, i));
    }
  });
});
