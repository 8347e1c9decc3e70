import { describe, expect, it } from 'vitest';
import { BufferPool, Int32Pool, POOL_BYTES } from '../../src/mem/buffer-pool.js';
import { ScoreJob, ScoreJobPool } from '../../src/pipeline/score-job.js';

describe('pools are bounded in bytes', () => {
  it('keeps no buffer over 4 MiB and at most POOL_BYTES in all', () => {
    const pool = new BufferPool();
    const big = pool.acquire(32 * 1024 * 1024);
    pool.release(big);
    expect(pool.pooledBytes).toBe(0);
    const held = Array.from({ length: 40 }, () => pool.acquire(4 * 1024 * 1024));
    for (const b of held) pool.release(b);
    expect(pool.pooledBytes).toBeLessThanOrEqual(POOL_BYTES);
    expect(pool.pooledBytes).toBeGreaterThan(0);
    const again = pool.acquire(4 * 1024 * 1024);
    expect(held).toContain(again); // reused, and counted out
    expect(pool.pooledBytes).toBeLessThanOrEqual(POOL_BYTES - again.length);
  });

  it('does the same for id arrays', () => {
    const pool = new Int32Pool();
    pool.release(new Int32Array(8 * 1024 * 1024));
    expect(pool.pooledBytes).toBe(0);
    pool.release(new Int32Array(1024));
    expect(pool.pooledBytes).toBe(4096);
  });

  it('drops a job inflated by one huge request instead of keeping it, and keeps at most 64', () => {
    const jobs = new ScoreJobPool();
    const huge = jobs.acquire();
    huge.reserve(20_000);
    for (let i = 0; i < 300_000; i++) huge.pushId(i);
    jobs.release(huge);
    expect(jobs.size).toBe(0);
    expect(huge.arena.length).toBeLessThanOrEqual(65536); // its arena went back, a small one in its place
    const many = Array.from({ length: 100 }, () => jobs.acquire());
    for (const j of many) jobs.release(j);
    expect(jobs.size).toBe(64);
  });

  it('reset clears what the request used, so references to backend buffers do not outlive it', () => {
    const job = new ScoreJob();
    job.reserve(3);
    const row = Buffer.from('[0.5]');
    job.rowBuf[2] = row;
    job.cacheHit[1] = 1;
    job.reset();
    expect(job.rowBuf[2]).not.toBe(row);
    expect(job.cacheHit[1]).toBe(0);
  });
});
