import { describe, expect, it } from 'vitest';
import { onContinuationFault } from '../../src/mem/continuation.js';
import { DeadlineWatch, type Watched } from '../../src/pipeline/deadline-watch.js';

/** A watched entry that records when it expired (performance.now()), and runs `then` when it does. */
class Entry implements Watched {
  dueAt = 0;
  watchPrev: Watched | null = null;
  watchNext: Watched | null = null;
  watched = false;
  at: number[] = [];
  then: () => void = () => {};

  expired(): void {
    this.at.push(performance.now());
    this.then();
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('DeadlineWatch', () => {
  it('expires each entry once, after its deadline and within about a tick of it; removed entries never', async () => {
    const watch = new DeadlineWatch(5);
    const t0 = performance.now();
    const entries = [10, 30, 60, 25].map((ms) => {
      const e = new Entry();
      watch.add(e, t0 + ms);
      return e;
    });
    const removed = entries[3] as Entry;
    watch.remove(removed);
    watch.remove(removed); // twice: harmless
    await sleep(120);
    for (const [i, ms] of [10, 30, 60].entries()) {
      const e = entries[i] as Entry;
      expect(e.at, `entry due at ${ms} ms`).toHaveLength(1);
      expect((e.at[0] as number) - t0).toBeGreaterThanOrEqual(ms);
      // A tick late at most, with room for a loaded machine.
      expect((e.at[0] as number) - t0).toBeLessThan(ms + 40);
      expect(e.watched).toBe(false);
    }
    expect(removed.at).toEqual([]);
  });

  it('watches an entry again after it expired or was removed, with its new deadline', async () => {
    const watch = new DeadlineWatch(5);
    const e = new Entry();
    watch.add(e, performance.now() + 5);
    await sleep(30);
    expect(e.at).toHaveLength(1);
    const t1 = performance.now();
    watch.add(e, t1 + 1000);
    watch.add(e, t1 + 15); // re-added while watched: the later call's deadline holds
    await sleep(60);
    expect(e.at).toHaveLength(2);
    expect((e.at[1] as number) - t1).toBeGreaterThanOrEqual(15);
  });

  it('goes on with the others when an expiry ends other entries or throws', async () => {
    const faults: unknown[] = [];
    const was = onContinuationFault((err) => faults.push(err));
    try {
      const watch = new DeadlineWatch(5);
      const now = performance.now();
      const [a, b, c, d] = [new Entry(), new Entry(), new Entry(), new Entry()];
      // The list runs d, c, b, a (newest first). d's expiry takes c off the list (a shared call
      // cancelled), b's throws: a must still expire in the same tick.
      for (const e of [a, b, c, d]) watch.add(e, now + 5);
      d.then = () => watch.remove(c);
      b.then = () => {
        throw new Error('an expiry with a bug');
      };
      await sleep(40);
      expect([a.at.length, b.at.length, c.at.length, d.at.length]).toEqual([1, 1, 0, 1]);
      expect(faults).toHaveLength(1);
      // The same tick: a expired with d.
      expect(Math.abs((a.at[0] as number) - (d.at[0] as number))).toBeLessThan(2);
    } finally {
      onContinuationFault(was);
    }
  });
});
