/**
 * A quantile over a sliding time window. Samples go into a ring (O(1) per sample, nothing
 * allocated); a query copies the live window into scratch space and selects the k-th value
 * (expected O(n)), so the history is never sorted and the request path only pays for a store.
 * Samples are expected in time order; a slightly late one is kept until those before it expire.
 * When more than `capacity` samples arrive within the window the oldest are overwritten, which
 * shortens the window rather than growing memory.
 */
export class WindowQuantile {
  private readonly values: Float64Array;
  private readonly times: Float64Array;
  private readonly scratch: Float64Array;
  private head = 0;
  private count = 0;

  constructor(
    readonly windowMs: number,
    readonly capacity = 4096,
  ) {
    if (!(windowMs > 0)) throw new RangeError(`windowMs must be > 0, got ${windowMs}`);
    if (!(capacity >= 1)) throw new RangeError(`capacity must be >= 1, got ${capacity}`);
    this.values = new Float64Array(capacity);
    this.times = new Float64Array(capacity);
    this.scratch = new Float64Array(capacity);
  }

  add(value: number, at: number): void {
    if (!Number.isFinite(value)) return;
    const cap = this.capacity;
    if (this.count === cap) {
      this.head = (this.head + 1) % cap;
      this.count--;
    }
    const i = (this.head + this.count) % cap;
    this.values[i] = value;
    this.times[i] = at;
    this.count++;
  }

  /** Drops samples older than now - windowMs; returns how many remain. */
  evict(now: number): number {
    const oldest = now - this.windowMs;
    while (this.count > 0 && (this.times[this.head] as number) < oldest) {
      this.head = (this.head + 1) % this.capacity;
      this.count--;
    }
    return this.count;
  }

  get size(): number {
    return this.count;
  }

  /** The nearest-rank q-quantile of the samples within the window at `now` (NaN when empty). */
  quantile(q: number, now: number): number {
    const n = this.evict(now);
    if (n === 0) return NaN;
    const a = this.scratch;
    for (let k = 0; k < n; k++) a[k] = this.values[(this.head + k) % this.capacity] as number;
    const rank = Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1));
    return select(a, n, rank);
  }

  /** Mean of the samples within the window (NaN when empty). */
  mean(now: number): number {
    const n = this.evict(now);
    if (n === 0) return NaN;
    let s = 0;
    for (let k = 0; k < n; k++) s += this.values[(this.head + k) % this.capacity] as number;
    return s / n;
  }

  clear(): void {
    this.head = 0;
    this.count = 0;
  }
}

/** The k-th smallest of a[0..n) (Hoare's quickselect with median-of-three pivots; reorders a). */
export function select(a: Float64Array, n: number, k: number): number {
  let lo = 0;
  let hi = n - 1;
  while (hi > lo) {
    const mid = (lo + hi) >>> 1;
    // Median of three guards against sorted windows (latencies often arrive nearly sorted).
    if ((a[mid] as number) < (a[lo] as number)) swap(a, mid, lo);
    if ((a[hi] as number) < (a[lo] as number)) swap(a, hi, lo);
    if ((a[hi] as number) < (a[mid] as number)) swap(a, hi, mid);
    const pivot = a[mid] as number;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while ((a[i] as number) < pivot) i++;
      while ((a[j] as number) > pivot) j--;
      if (i <= j) {
        swap(a, i, j);
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return a[k] as number;
  }
  return a[k] as number;
}

function swap(a: Float64Array, i: number, j: number): void {
  const t = a[i] as number;
  a[i] = a[j] as number;
  a[j] = t;
}
