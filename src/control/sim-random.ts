/**
 * Seeded randomness for the control simulations (mulberry32): the simulated runs that tests
 * assert on and the lead charts must be replayable bit for bit. src/ cannot import bench/rng.ts
 * (bench depends on src, not the other way round), and these loops need nothing stronger.
 */
export class SimRandom {
  private s: number;

  constructor(seed: number) {
    this.s = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let z = this.s;
    z = Math.imul(z ^ (z >>> 15), z | 1);
    z ^= z + Math.imul(z ^ (z >>> 7), z | 61);
    return ((z ^ (z >>> 14)) >>> 0) / 4294967296;
  }

  /** Exponential with the given mean (1 - u keeps log's argument in (0, 1]). */
  exponential(mean: number): number {
    return -Math.log(1 - this.next()) * mean;
  }
}
