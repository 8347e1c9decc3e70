/**
 * A double-ended queue on a power-of-two ring. The shaper keeps one per priority class: a plain
 * array's shift() is O(n) once V8 leaves its fast path, and a queue that absorbs bursts of
 * thousands of requests must not pay per waiter for the length of the queue.
 */
export class Deque<T> {
  private buf: Array<T | undefined>;
  private mask: number;
  private head = 0;
  private count = 0;

  constructor(initialCapacity = 16) {
    let cap = 4;
    while (cap < initialCapacity) cap <<= 1;
    this.buf = new Array<T | undefined>(cap);
    this.mask = cap - 1;
  }

  get length(): number {
    return this.count;
  }

  pushBack(value: T): void {
    if (this.count === this.buf.length) this.grow();
    this.buf[(this.head + this.count) & this.mask] = value;
    this.count++;
  }

  peekFront(): T | undefined {
    return this.count === 0 ? undefined : this.buf[this.head];
  }

  peekBack(): T | undefined {
    return this.count === 0 ? undefined : this.buf[(this.head + this.count - 1) & this.mask];
  }

  popFront(): T | undefined {
    if (this.count === 0) return undefined;
    const v = this.buf[this.head];
    // Clear the slot so a settled waiter is not kept alive by the ring.
    this.buf[this.head] = undefined;
    this.head = (this.head + 1) & this.mask;
    this.count--;
    return v;
  }

  popBack(): T | undefined {
    if (this.count === 0) return undefined;
    const i = (this.head + this.count - 1) & this.mask;
    const v = this.buf[i];
    this.buf[i] = undefined;
    this.count--;
    return v;
  }

  /** Keeps the elements for which keep() is true, in order; O(length). */
  retain(keep: (value: T) => boolean): void {
    let w = 0;
    for (let r = 0; r < this.count; r++) {
      const v = this.buf[(this.head + r) & this.mask] as T;
      if (keep(v)) this.buf[(this.head + w++) & this.mask] = v;
    }
    for (let r = w; r < this.count; r++) this.buf[(this.head + r) & this.mask] = undefined;
    this.count = w;
  }

  private grow(): void {
    const old = this.buf;
    const next = new Array<T | undefined>(old.length * 2);
    for (let i = 0; i < this.count; i++) next[i] = old[(this.head + i) & this.mask];
    this.buf = next;
    this.mask = next.length - 1;
    this.head = 0;
  }
}
