import { continuationFault } from '../mem/continuation.js';

/**
 * Something with a deadline in flight. The links are the entry's own, so watching it allocates
 * nothing.
 */
export interface Watched {
  /** performance.now() at which it expires. */
  dueAt: number;
  watchPrev: Watched | null;
  watchNext: Watched | null;
  watched: boolean;
  /** Its deadline passed while it was watched (it is no longer watched when this runs). */
  expired(): void;
}

/**
 * In-flight deadlines behind one timer that ticks every `tickMs` while anything is watched, so
 * an entry expires at most one tick after its deadline.
 *
 * Why not a timer per entry: a setTimeout per request was ~130 B of heap per /v1/score request
 * (a Timeout, and its share of Node's timer lists; allocation profile of the gc-free load),
 * for a deadline that almost never passes. One Timeout, made once and re-armed with refresh()
 * (which allocates nothing), costs a timer firing per tick (~0.3 KB) only while requests are in
 * flight, whatever their rate. Each tick walks the watched entries: they are the requests in
 * flight, hundreds at most per sidecar.
 */
export class DeadlineWatch {
  private head: Watched | null = null;
  private timer: NodeJS.Timeout | null = null;
  private armed = false;

  constructor(private readonly tickMs: number) {}

  /** Watches `w` until remove() or its deadline (`dueAt`, performance.now() time). */
  add(w: Watched, dueAt: number): void {
    if (w.watched) this.remove(w);
    w.dueAt = dueAt;
    w.watched = true;
    w.watchPrev = null;
    w.watchNext = this.head;
    if (this.head !== null) this.head.watchPrev = w;
    this.head = w;
    if (!this.armed) this.arm();
  }

  /** Stops watching `w` (harmless when it is not watched). */
  remove(w: Watched): void {
    if (!w.watched) return;
    w.watched = false;
    const { watchPrev: p, watchNext: n } = w;
    if (p !== null) p.watchNext = n;
    else this.head = n;
    if (n !== null) n.watchPrev = p;
    w.watchPrev = w.watchNext = null;
  }

  private arm(): void {
    this.armed = true;
    // Unref'd: a watched request holds its own sockets; the watch alone keeps no process alive.
    if (this.timer === null) this.timer = setTimeout(this.tick, this.tickMs).unref();
    else this.timer.refresh();
  }

  private readonly tick = (): void => {
    this.armed = false;
    const now = performance.now();
    let w = this.head;
    while (w !== null) {
      let next = w.watchNext;
      if (w.dueAt <= now) {
        this.remove(w);
        // One expiry that throws must not keep the others from theirs.
        try {
          w.expired();
        } catch (e) {
          continuationFault(e);
        }
        // An expiry may end other watched entries (a shared backend call cancelled): start over
        // when the next one left; what has expired is gone from the list, so this ends.
        if (next !== null && !next.watched) next = this.head;
      }
      w = next;
    }
    if (this.head !== null) this.arm();
  };
}
