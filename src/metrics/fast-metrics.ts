/**
 * Hot-path metrics that record without allocating. prom-client's labelled metrics build a
 * label-hash string on every observe; these keep plain typed-array buckets indexed by a label
 * chosen once, and render themselves through prom-client's duck-typed metric interface
 * (name + get()), so they sit in the same registry and exposition as everything else.
 */
interface MetricValue {
  value: number;
  labels: Record<string, string | number>;
  metricName?: string;
}

interface MetricData {
  name: string;
  help: string;
  type: 'histogram' | 'counter';
  values: MetricValue[];
  aggregator: 'sum';
}

/** A histogram whose label takes one of a fixed set of values. */
export class FastHistogram<L extends string> {
  private readonly counts: Float64Array;
  private readonly sums: Float64Array;
  private readonly totals: Float64Array;
  private readonly index: Map<L, number>;

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly labelName: string | null,
    private readonly labelValues: readonly L[],
    private readonly buckets: readonly number[],
  ) {
    const n = Math.max(1, labelValues.length);
    this.counts = new Float64Array(n * buckets.length);
    this.sums = new Float64Array(n);
    this.totals = new Float64Array(n);
    this.index = new Map(labelValues.map((v, i) => [v, i]));
  }

  /** The slot of a label value; resolve once, then observe by slot. */
  slot(value: L): number {
    const i = this.index.get(value);
    if (i === undefined) throw new Error(`${this.name}: unknown ${this.labelName} ${value}`);
    return i;
  }

  observe(slot: number, v: number): void {
    const b = this.buckets;
    const base = slot * b.length;
    for (let i = 0; i < b.length; i++) {
      if (v <= (b[i] as number)) {
        this.counts[base + i]++;
        break;
      }
    }
    this.sums[slot] += v;
    this.totals[slot]++;
  }

  get(): MetricData {
    const values: MetricValue[] = [];
    const slots = Math.max(1, this.labelValues.length);
    for (let s = 0; s < slots; s++) {
      const labels: Record<string, string | number> = {};
      if (this.labelName !== null) labels[this.labelName] = this.labelValues[s] as string;
      let cumulative = 0;
      for (let i = 0; i < this.buckets.length; i++) {
        cumulative += this.counts[s * this.buckets.length + i] as number;
        values.push({ value: cumulative, labels: { ...labels, le: this.buckets[i] as number }, metricName: `${this.name}_bucket` });
      }
      values.push({ value: this.totals[s] as number, labels: { ...labels, le: '+Inf' }, metricName: `${this.name}_bucket` });
      values.push({ value: this.sums[s] as number, labels, metricName: `${this.name}_sum` });
      values.push({ value: this.totals[s] as number, labels, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: 'histogram', values, aggregator: 'sum' };
  }

  /** Total observations and sum for one slot (tests, stats). */
  totalsOf(slot: number): { count: number; sum: number } {
    return { count: this.totals[slot] as number, sum: this.sums[slot] as number };
  }
}

/** A counter over two labels whose second value is a small integer (an HTTP status). */
export class FastStatusCounter<R extends string> {
  private readonly byKey = new Map<number, number>();
  private readonly routes: readonly R[];

  constructor(
    readonly name: string,
    readonly help: string,
    routes: readonly R[],
  ) {
    this.routes = routes;
  }

  inc(route: number, code: number, by = 1): void {
    const k = route * 1000 + code;
    this.byKey.set(k, (this.byKey.get(k) ?? 0) + by);
  }

  routeIndex(route: R): number {
    const i = this.routes.indexOf(route);
    if (i < 0) throw new Error(`${this.name}: unknown route ${route}`);
    return i;
  }

  get(): MetricData {
    const values: MetricValue[] = [];
    for (const [k, v] of this.byKey) {
      values.push({ value: v, labels: { route: this.routes[Math.floor(k / 1000)] as string, code: String(k % 1000) } });
    }
    return { name: this.name, help: this.help, type: 'counter', values, aggregator: 'sum' };
  }
}

/** A counter over a fixed label set, incremented by slot. */
export class FastCounter<L extends string> {
  private readonly values: Float64Array;

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly labelName: string,
    private readonly labelValues: readonly L[],
  ) {
    this.values = new Float64Array(labelValues.length);
  }

  slot(value: L): number {
    const i = this.labelValues.indexOf(value);
    if (i < 0) throw new Error(`${this.name}: unknown ${this.labelName} ${value}`);
    return i;
  }

  inc(slot: number, by = 1): void {
    this.values[slot] += by;
  }

  total(slot: number): number {
    return this.values[slot] as number;
  }

  get(): MetricData {
    return {
      name: this.name,
      help: this.help,
      type: 'counter',
      values: this.labelValues.map((l, i) => ({ value: this.values[i] as number, labels: { [this.labelName]: l } })),
      aggregator: 'sum',
    };
  }
}
