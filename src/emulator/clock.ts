/**
 * Time for the emulator's cost model. The server runs on real time; calibration runs the very
 * same scheduler on a virtual clock, so fitting the model takes seconds instead of hours and
 * measures the model rather than this machine.
 */
export interface Clock {
  now(): number;
  /** Calls fn after ms milliseconds (0: as soon as possible). */
  after(ms: number, fn: () => void): void;
}

export const realClock: Clock = {
  now: () => performance.now(),
  after(ms, fn) {
    if (ms <= 0) setImmediate(fn);
    else setTimeout(fn, ms);
  },
};

/**
 * A discrete-event clock: time jumps to the next timer. Drive it with callbacks (runSync), as
 * calibration does, so no promise machinery sits between events.
 */
export class VirtualClock implements Clock {
  private t = 0;
  private seq = 0;
  private readonly heap: Array<{ at: number; seq: number; fn: () => void }> = [];

  now(): number {
    return this.t;
  }

  after(ms: number, fn: () => void): void {
    this.push({ at: this.t + Math.max(0, ms), seq: this.seq++, fn });
  }

  /** Calls fn at absolute time `at` (ms). */
  at(at: number, fn: () => void): void {
    this.push({ at: Math.max(this.t, at), seq: this.seq++, fn });
  }

  private push(e: { at: number; seq: number; fn: () => void }): void {
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (earlier(h[p]!, h[i]!)) break;
      [h[p], h[i]] = [h[i]!, h[p]!];
      i = p;
    }
  }

  private pop(): { at: number; seq: number; fn: () => void } | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && earlier(h[l]!, h[m]!)) m = l;
        if (r < h.length && earlier(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[m], h[i]] = [h[i]!, h[m]!];
        i = m;
      }
    }
    return top;
  }

  /** Runs timers in time order until none are left or `until` is reached. */
  runSync(until = Number.POSITIVE_INFINITY): void {
    for (;;) {
      const next = this.heap[0];
      if (!next || next.at > until) return;
      this.pop();
      this.t = next.at;
      next.fn();
    }
  }
}

function earlier(a: { at: number; seq: number }, b: { at: number; seq: number }): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}
