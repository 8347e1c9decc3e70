import { describe, expect, it } from 'vitest';
import { onContinuationFault } from '../../src/mem/continuation.js';
import { type Batch, takeBatch, giveBatch } from '../../src/pipeline/batch.js';
import { Coalescer, sameQuery } from '../../src/pipeline/coalescer.js';
import { ScoreJob } from '../../src/pipeline/score-job.js';
import { mulberry32 } from '../support/random-texts.js';

/** A text job (tokenized: its query ids in qRef) with one-id items (one, 7, unless given) and a forced query hash. */
function idsJob(query: number[], hash: [number, number], items: number[] = [7]): ScoreJob {
  const j = new ScoreJob();
  j.kind = 'text';
  j.reserve(items.length);
  j.qRef = Int32Array.from(query);
  j.qOff = 0;
  j.qLen = query.length;
  j.textHash[0] = hash[0];
  j.textHash[1] = hash[1];
  j.pushLabel(9693);
  j.nLabels = 1;
  j.n = items.length;
  items.forEach((id, i) => {
    j.aRef[i] = Int32Array.of(id);
    j.aOff[i] = 0;
    j.aLen[i] = 1;
  });
  j.selectAll();
  return j;
}

/** Query [1, 2, 3] and two one-id items: two MIS batches under a budget of 5 (query 3 + 1, items 2 each). */
function twoItemJob(): ScoreJob {
  return idsJob([1, 2, 3], [1, 1], [7, 8]);
}

/** A `send` that records `of(batch)` for every batch it is given and reports each one sent. */
function recordingSend<T>(into: T[], of: (b: Batch) => T): (batches: readonly Batch[]) => Promise<PromiseSettledResult<void>[]> {
  return (batches) => {
    for (const b of batches) into.push(of(b));
    return Promise.resolve(batches.map(() => ({ status: 'fulfilled' as const, value: undefined })));
  };
}

const MIS = { mode: 'mis', key: 'g' } as const;

/** A sendOne from a promise-returning function: its continuations run as the promise settles. */
function lone(send: (b: Batch) => Promise<void>): (b: Batch, lane: unknown, ok: () => void, fail: (e: unknown) => void) => void {
  return (b, _lane, ok, fail) => {
    send(b).then(ok, fail);
  };
}

/**
 * Dispatches two jobs of `query` into one pack, the first one's continuation throwing; resolves
 * with what each continuation did once the second has its answer.
 */
function packWithThrowingContinuation(c: Coalescer, query: number[]): Promise<string[]> {
  const done: string[] = [];
  return new Promise<string[]>((resolve) => {
    c.dispatch(idsJob(query, [query[0] as number, query[0] as number]), MIS, 1000, 2, () => {
      done.push('first');
      throw new Error('a continuation with a bug');
    }, () => done.push('first failed'));
    c.dispatch(idsJob(query, [query[0] as number, query[0] as number]), MIS, 1000, 2, () => {
      done.push('second');
      resolve(done);
    }, () => done.push('second failed'));
  });
}

describe('coalescing', () => {
  it('compares the query ids themselves: a hash collision does not make two queries share a pack', async () => {
    const sent: Array<Int32Array[]> = [];
    const c = new Coalescer(
      20,
      recordingSend(sent, (b) => Array.from({ length: b.count }, (_, s) => (b.jobs[s] as ScoreJob).qRef.slice(0, (b.jobs[s] as ScoreJob).qLen))),
    );
    const a = idsJob([1, 2, 3], [42, 43]);
    const b = idsJob([9, 9, 9], [42, 43]); // same hash and length, other ids
    const a2 = idsJob([1, 2, 3], [42, 43]);
    expect(Coalescer.key(a, MIS)).toBe(Coalescer.key(b, MIS));
    await Promise.all([c.dispatchAsync(a, MIS, 1000, 2), c.dispatchAsync(b, MIS, 1000, 2), c.dispatchAsync(a2, MIS, 1000, 2)]);
    // b went alone; a and a2 (equal ids) shared one pack.
    expect(sent.map((pack) => pack.map((q) => Array.from(q)))).toEqual([[[9, 9, 9]], [[1, 2, 3], [1, 2, 3]]]);
  });

  it('answers every job of a pack even when one job\'s continuation throws', async () => {
    const faults: unknown[] = [];
    const was = onContinuationFault((e) => faults.push(e));
    try {
      const c = new Coalescer(5, recordingSend([], (b) => b.count));
      expect(await packWithThrowingContinuation(c, [1, 2])).toEqual(['first', 'second']);
      expect(faults.map((e) => (e as Error).message)).toEqual(['a continuation with a bug']);
    } finally {
      onContinuationFault(was);
    }
  });

  it('sameQuery looks at every id and at whole-prompt mode', () => {
    expect(sameQuery(idsJob([1, 2], [0, 0]), idsJob([1, 2], [5, 5]))).toBe(true);
    expect(sameQuery(idsJob([1, 2], [0, 0]), idsJob([1, 3], [0, 0]))).toBe(false);
    expect(sameQuery(idsJob([1, 2], [0, 0]), idsJob([1], [0, 0]))).toBe(false);
    const w = idsJob([1, 2], [0, 0]);
    w.wholePrompts = true;
    expect(sameQuery(w, idsJob([1, 2], [0, 0]))).toBe(false);
  });

  it('keys an id query by its ids, whatever a pooled job last held', () => {
    const a = idsJob([1, 2, 3], [1, 1]);
    const b = idsJob([1, 2, 3], [2, 2]);
    const c = idsJob([1, 2, 4], [1, 1]);
    for (const j of [a, b, c]) j.kind = 'ids';
    expect(Coalescer.key(a, MIS)).toBe(Coalescer.key(b, MIS));
    expect(Coalescer.key(a, MIS)).not.toBe(Coalescer.key(c, MIS));
  });

  it('with window 0 sends a one-batch request through sendOne, and a split one through send', async () => {
    const viaSend: number[] = [];
    const viaOne: number[] = [];
    const c = new Coalescer(
      0,
      recordingSend(viaSend, (b) => b.items),
      lone((b: Batch) => {
        viaOne.push(b.items);
        return b.items === 1 && (b.jobs[0] as ScoreJob).qLen === 9 ? Promise.reject(new Error('backend said no')) : Promise.resolve();
      }),
    );
    await c.dispatchAsync(idsJob([1, 2, 3], [1, 1]), MIS, 1000, 2);
    expect([viaOne, viaSend]).toEqual([[1], []]);
    // Two items over a budget that holds one (query 3 + 1, items 2 each): two batches, sent together.
    const two = twoItemJob();
    await c.dispatchAsync(two, MIS, 5, 4);
    expect([viaOne, viaSend]).toEqual([[1], [1, 1]]);
    // A lone batch's failure is the request's.
    await expect(c.dispatchAsync(idsJob([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 1]), MIS, 1000, 2)).rejects.toThrow('backend said no');
    expect(viaOne).toEqual([1, 1]);
  });

  it('sends a job nobody joined in its window through sendOne, and a pack of several jobs in one batch too', async () => {
    const viaSend: number[] = [];
    const viaOne: number[] = [];
    const c = new Coalescer(
      5,
      recordingSend(viaSend, (b) => b.count),
      lone((b: Batch) => {
        viaOne.push(b.count);
        return b.count === 1 ? Promise.reject(new Error('lone call failed')) : Promise.resolve();
      }),
    );
    await expect(c.dispatchAsync(idsJob([4, 5], [3, 3]), MIS, 1000, 2)).rejects.toThrow('lone call failed');
    await Promise.all([c.dispatchAsync(idsJob([1, 2], [2, 2]), MIS, 1000, 2), c.dispatchAsync(idsJob([1, 2], [2, 2]), MIS, 1000, 2)]);
    expect([viaOne, viaSend]).toEqual([[1, 2], []]);
    expect(c.merged).toBe(2);
  });

  it("gives a one-batch pack's failure to each of its jobs, and every job its answer when one continuation throws", async () => {
    const faults: unknown[] = [];
    const was = onContinuationFault((e) => faults.push(e));
    try {
      let fail = true;
      const c = new Coalescer(
        5,
        () => Promise.reject(new Error('not used')),
        lone(() => (fail ? Promise.reject(new Error('pack failed')) : Promise.resolve())),
      );
      const three = [0, 1, 2].map(() => c.dispatchAsync(idsJob([6, 6], [6, 6]), MIS, 1000, 2));
      for (const p of three) await expect(p).rejects.toThrow('pack failed');
      fail = false;
      expect(await packWithThrowingContinuation(c, [6, 6])).toEqual(['first', 'second']);
      expect(faults).toHaveLength(1);
      // The pooled pack is clean for the next one: a new pair gets its own answers, once each.
      const again = await Promise.allSettled([0, 1].map(() => c.dispatchAsync(idsJob([6, 6], [6, 6]), MIS, 1000, 2)));
      expect(again.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled']);
      expect(c.merged).toBe(7);
    } finally {
      onContinuationFault(was);
    }
  });

  it('answers every job once over many rounds of packs of every size, its pooled groups and packs reused throughout', async () => {
    const rnd = mulberry32(3);
    const answered = new Map<number, number>();
    const c = new Coalescer(
      1,
      recordingSend([], (b) => b.count),
      lone(() => Promise.resolve()),
    );
    let id = 0;
    for (let round = 0; round < 150; round++) {
      const waits: Array<Promise<void>> = [];
      const n = 1 + Math.floor(rnd() * 7);
      for (let k = 0; k < n; k++) {
        const q = 1 + Math.floor(rnd() * 3);
        const mine = id++;
        waits.push(c.dispatchAsync(idsJob([q, q], [q, q]), MIS, 1000, 2).then(() => void answered.set(mine, (answered.get(mine) ?? 0) + 1)));
      }
      let late: NodeJS.Timeout | undefined;
      const stuck = new Promise<string>((r) => (late = setTimeout(() => r(`round ${round}: a job was never answered`), 2_000)));
      expect(await Promise.race([Promise.all(waits).then(() => 'ok'), stuck])).toBe('ok');
      clearTimeout(late);
    }
    expect(answered.size).toBe(id);
    expect([...answered.values()].every((v) => v === 1)).toBe(true);
  });

  it('sends a pack through the batch list when its jobs take more than one batch', async () => {
    const viaSend: number[] = [];
    const c = new Coalescer(
      5,
      recordingSend(viaSend, (b) => b.items),
      () => Promise.reject(new Error('not for packs of several batches')),
    );
    // Query 3 + 1 and two one-id items of cost 2 each: 8 > budget 7, two batches for the pair.
    await Promise.all([c.dispatchAsync(idsJob([1, 2, 3], [4, 4]), MIS, 7, 2), c.dispatchAsync(idsJob([1, 2, 3], [4, 4]), MIS, 7, 2)]);
    expect(viaSend).toEqual([1, 1]);
    expect(c.merged).toBe(2);
  });

  it('hands a lone batch to sendOne, which owns it: the coalescer never gives it back itself', async () => {
    let last: Batch | null = null;
    let fail = false;
    const c = new Coalescer(
      0,
      () => Promise.reject(new Error('not used')),
      lone((b: Batch) => {
        last = b;
        return fail ? Promise.reject(new Error('no')) : Promise.resolve();
      }),
    );
    for (const f of [false, true]) {
      fail = f;
      const p = c.dispatchAsync(idsJob([1, 2], [1, 1]), MIS, 1000, 2);
      await (f ? expect(p).rejects.toThrow('no') : p);
      const b = last as unknown as Batch;
      // Still as sent (sendOne did not give it back here), and not in the pool.
      expect([b.count, b.items]).toEqual([1, 1]);
      const next = takeBatch();
      expect(next).not.toBe(b);
      giveBatch(next);
    }
    expect(c.merged).toBe(0);
  });

  it('splits a lone job of a window over several batches when its items exceed the budget', async () => {
    const sent: number[] = [];
    const c = new Coalescer(
      5,
      recordingSend(sent, (b) => b.items),
      () => Promise.reject(new Error('not for split jobs')),
    );
    const two = twoItemJob();
    await c.dispatchAsync(two, MIS, 5, 4);
    expect(sent).toEqual([1, 1]);
    expect(c.merged).toBe(0);
  });

  it('flushes each open group at the end of its own window, behind one timer, and a group closed early by its budget leaves the others waiting', async () => {
    const t0 = performance.now();
    const sentAt: Array<[number[], number]> = [];
    const c = new Coalescer(
      40,
      (batches) => {
        for (const b of batches) sentAt.push([Array.from({ length: b.count }, (_, s) => (b.jobs[s] as ScoreJob).qRef[0] as number), performance.now() - t0]);
        return Promise.resolve(batches.map(() => ({ status: 'fulfilled' as const, value: undefined })));
      },
      (b, _lane, ok) => {
        sentAt.push([Array.from({ length: b.count }, (_, s) => (b.jobs[s] as ScoreJob).qRef[0] as number), performance.now() - t0]);
        queueMicrotask(ok);
      },
    );
    const done: Array<Promise<void>> = [];
    // Query 1 opens at 0, query 2 at ~25 ms; query 3 opens at ~25 ms and fills its budget at once.
    done.push(c.dispatchAsync(idsJob([1], [1, 1]), MIS, 1000, 2));
    await new Promise((r) => setTimeout(r, 25));
    done.push(c.dispatchAsync(idsJob([2], [2, 2]), MIS, 1000, 2));
    done.push(c.dispatchAsync(idsJob([3], [3, 3]), MIS, 6, 3));
    done.push(c.dispatchAsync(idsJob([3], [3, 3]), MIS, 6, 3));
    done.push(c.dispatchAsync(idsJob([3], [3, 3]), MIS, 6, 3)); // over the budget: query 3's group goes now
    done.push(c.dispatchAsync(idsJob([1], [1, 1]), MIS, 1000, 2)); // joins query 1's open group
    await Promise.all(done);
    const at = new Map(sentAt.map(([qs, t]) => [qs.join(','), t]));
    expect([...at.keys()].sort()).toEqual(['1,1', '2', '3', '3,3'].sort());
    // Query 3's first pair went at once; query 1's pair at the end of its window, before query 2's.
    expect(at.get('3,3') as number).toBeLessThan(30);
    expect(at.get('1,1') as number).toBeGreaterThanOrEqual(20);
    // Query 2 waited out its own window (due at ~65 ms), not query 1's timer firing at ~40.
    expect((at.get('2') as number) - (at.get('1,1') as number)).toBeGreaterThanOrEqual(10);
    expect(at.get('2') as number).toBeGreaterThanOrEqual(50);
  });

  it('keeps a later group open for its whole window when the timer fires for an earlier one', async () => {
    const t0 = performance.now();
    const sent: Array<[number, number]> = [];
    const c = new Coalescer(
      40,
      (batches) => {
        for (const b of batches) sent.push([(b.jobs[0] as ScoreJob).qRef[0] as number, b.count]);
        return Promise.resolve(batches.map(() => ({ status: 'fulfilled' as const, value: undefined })));
      },
      (b, _lane, ok) => {
        sent.push([(b.jobs[0] as ScoreJob).qRef[0] as number, b.count]);
        queueMicrotask(ok);
      },
    );
    const done: Array<Promise<void>> = [];
    done.push(c.dispatchAsync(idsJob([1], [1, 1]), MIS, 1000, 2));
    await new Promise((r) => setTimeout(r, 15));
    done.push(c.dispatchAsync(idsJob([2], [2, 2]), MIS, 1000, 2)); // due at ~55 ms
    await new Promise((r) => setTimeout(r, Math.max(0, 45 - (performance.now() - t0))));
    // At ~45 ms, after query 1's window ended (~40 ms): still within query 2's.
    done.push(c.dispatchAsync(idsJob([2], [2, 2]), MIS, 1000, 2));
    const lateAt = performance.now() - t0;
    await Promise.all(done);
    // Only meaningful when the late job came before query 2's window ended.
    if (lateAt < 52) expect(sent).toEqual([[1, 1], [2, 2]]);
  });
});
