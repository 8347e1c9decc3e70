/**
 * Seeded pseudo-random numbers for the bench: xoshiro128** seeded through splitmix32.
 *
 * Math.random cannot be seeded, and a benchmark must be replayable: the same seed must give the
 * same arrival schedule and the same corpus on every machine and Node version. Independent
 * streams are derived from (seed, label, index) so that, for example, job #17 of a corpus is the
 * same posting whether the corpus holds 300 jobs or 3,000.
 */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    let s = seed >>> 0;
    const next = (): number => {
      // splitmix32: spreads any seed (even 0) over the whole state.
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
  }

  /** A stream derived from a seed and a path of labels or indices. */
  static derive(seed: number, ...path: Array<string | number>): Rng {
    let h = hash32(seed >>> 0, 0x2545f491);
    for (const p of path) h = typeof p === 'number' ? hash32(p >>> 0, h) : hashString(p, h);
    return new Rng(h);
  }

  /** Uniform 32-bit unsigned integer. */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.b << 9) >>> 0;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  /** Uniform in [0, 1) with 53 bits of resolution (tails of exponentials need more than 32). */
  next(): number {
    const hi = this.nextU32() >>> 5;
    const lo = this.nextU32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[this.int(items.length)] as T;
  }

  /** Picks by non-negative weights. */
  weighted<T>(items: ReadonlyArray<readonly [T, number]>): T {
    let total = 0;
    for (const [, w] of items) total += w;
    let r = this.next() * total;
    for (const [v, w] of items) {
      r -= w;
      if (r < 0) return v;
    }
    return (items[items.length - 1] as readonly [T, number])[0];
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  /** Exponential with the given mean; 1 - u keeps the argument of log in (0, 1]. */
  exponential(mean: number): number {
    return -Math.log(1 - this.next()) * mean;
  }

  /** Standard normal (Box-Muller; one of the pair is discarded to keep the stream stateless). */
  normal(): number {
    const u = 1 - this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** Log-normal parameterised by the median and the sigma of the underlying normal. */
  logNormal(median: number, sigma: number): number {
    return median * Math.exp(sigma * this.normal());
  }

  /** k distinct elements in random order (partial Fisher-Yates on a copy). */
  sample<T>(items: readonly T[], k: number): T[] {
    const copy = items.slice();
    const n = Math.min(k, copy.length);
    for (let i = 0; i < n; i++) {
      const j = i + this.int(copy.length - i);
      const tmp = copy[i] as T;
      copy[i] = copy[j] as T;
      copy[j] = tmp;
    }
    return copy.slice(0, n);
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

function hash32(x: number, h: number): number {
  let z = (x ^ Math.imul(h, 0x27d4eb2d)) >>> 0;
  z = Math.imul(z ^ (z >>> 15), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}

function hashString(s: string, h: number): number {
  let x = h;
  for (let i = 0; i < s.length; i++) x = hash32(s.charCodeAt(i), x);
  return hash32(s.length, x);
}
