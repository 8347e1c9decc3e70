import type { ControlClock, TimerHandle } from './clock.js';

interface VirtualTimer {
  at: number;
  seq: number;
  fire: (arg: unknown) => void;
  arg: unknown;
  cancelled: boolean;
}

/**
 * A discrete-event clock for tests and simulations: time moves only when advanceTo() is called,
 * and timers fire in (time, creation) order as it passes them. Timers live in a binary heap, so
 * a simulation with thousands of queued deadlines stays cheap.
 */
export class VirtualClock implements ControlClock {
  private t: number;
  private seq = 0;
  private heap: VirtualTimer[] = [];

  constructor(start = 0) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  setTimer<A>(delayMs: number, fire: (arg: A) => void, arg: A): TimerHandle {
    const timer: VirtualTimer = {
      at: this.t + Math.max(0, delayMs),
      seq: this.seq++,
      fire: fire as (arg: unknown) => void,
      arg,
      cancelled: false,
    };
    this.push(timer);
    return timer as unknown as TimerHandle;
  }

  clearTimer(handle: TimerHandle): void {
    (handle as unknown as VirtualTimer).cancelled = true;
  }

  /** Live timers still pending. */
  get pendingTimers(): number {
    let n = 0;
    for (const t of this.heap) if (!t.cancelled) n++;
    return n;
  }

  /** Time of the next live timer, or Infinity. */
  nextTimerAt(): number {
    while (this.heap.length > 0 && (this.heap[0] as VirtualTimer).cancelled) this.pop();
    return this.heap.length > 0 ? (this.heap[0] as VirtualTimer).at : Infinity;
  }

  /** Moves time forward to `to`, firing every timer due on the way at its own time. */
  advanceTo(to: number): void {
    for (;;) {
      const next = this.nextTimerAt();
      if (next > to) break;
      const timer = this.pop() as VirtualTimer;
      this.t = Math.max(this.t, timer.at);
      timer.fire(timer.arg);
    }
    this.t = Math.max(this.t, to);
  }

  advanceBy(ms: number): void {
    this.advanceTo(this.t + ms);
  }

  private less(a: VirtualTimer, b: VirtualTimer): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  private push(timer: VirtualTimer): void {
    const h = this.heap;
    h.push(timer);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i] as VirtualTimer, h[p] as VirtualTimer)) break;
      [h[i], h[p]] = [h[p] as VirtualTimer, h[i] as VirtualTimer];
      i = p;
    }
  }

  private pop(): VirtualTimer | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last !== undefined) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.less(h[l] as VirtualTimer, h[m] as VirtualTimer)) m = l;
        if (r < h.length && this.less(h[r] as VirtualTimer, h[m] as VirtualTimer)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m] as VirtualTimer, h[i] as VirtualTimer];
        i = m;
      }
    }
    return top;
  }
}
