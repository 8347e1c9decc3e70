import type { BenchReport } from './types.js';

/** The report as JSON; non-finite numbers (an empty histogram's ratios) become null. */
export function renderJson(report: BenchReport): string {
  return `${JSON.stringify(report, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`;
}
