import type { SearchStep } from '../loadgen/slo-search.js';
import type { BenchReport } from './types.js';

/**
 * A dependency-free SVG chart: latency percentiles (p50 dotted, p95 solid, p99 dashed) against
 * offered RPS, one colour per target, with the SLO as a horizontal line. Both axes are
 * logarithmic: the search steps are geometric in RPS, and latency spans milliseconds to the
 * timeout once a target saturates. Steps that missed the SLO have hollow markers.
 */

const W = 880;
const H = 520;
const M = { left: 72, right: 210, top: 56, bottom: 62 };
const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#7f7f7f'];
const PERCENTILES = [
  { key: 'p50', dash: '2 4', width: 1.5 },
  { key: 'p95', dash: '', width: 2.5 },
  { key: 'p99', dash: '8 4', width: 1.5 },
] as const;
const SLO_COLOR = '#d62728';

export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] as string);
}

interface LogScale {
  lo: number;
  hi: number;
  at(v: number): number;
  ticks(): number[];
}

function logScale(lo: number, hi: number, from: number, to: number): LogScale {
  const a = Math.log10(lo);
  const b = Math.log10(hi);
  return {
    lo,
    hi,
    at: (v) => from + ((Math.log10(v) - a) / (b - a)) * (to - from),
    ticks: () => {
      const out: number[] = [];
      for (let d = Math.floor(a); d <= Math.ceil(b); d++) {
        for (const m of [1, 2, 5]) {
          const v = m * 10 ** d;
          if (v >= lo && v <= hi) out.push(v);
        }
      }
      return out;
    },
  };
}

const fmt = (v: number): string => (v >= 1000 ? `${+(v / 1000).toFixed(2)}k` : v >= 1 ? `${+v.toFixed(1)}` : `${+v.toPrecision(2)}`);

/** Steps with data, one per offered rate (the latest wins), in RPS order. */
function series(steps: readonly SearchStep[]): SearchStep[] {
  const byRps = new Map<number, SearchStep>();
  for (const s of steps) if (s.latency.count > 0) byRps.set(s.offeredRps, s);
  return [...byRps.values()].sort((x, y) => x.offeredRps - y.offeredRps);
}

export function renderSvg(r: BenchReport): string {
  const slo = r.config.slo;
  const title = `scorecar bench: ${r.name}${r.simulated ? ' (SIMULATED)' : ''}`;
  const subtitle = `latency from scheduled send vs offered load; ${r.config.itemsPerRequest} items/request, ${r.workload.mode} prompts`;
  const lines = r.targets.map((t) => ({ name: t.name, points: series(t.steps) }));
  const all = lines.flatMap((l) => l.points);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect x="0" y="0" width="${W}" height="${H}" fill="#ffffff"/>`,
    `<text x="${M.left}" y="24" font-size="16" font-weight="bold">${escapeXml(title)}</text>`,
    `<text x="${M.left}" y="42" fill="#555555">${escapeXml(subtitle)}</text>`,
  ];
  const x0 = M.left;
  const x1 = W - M.right;
  const y0 = H - M.bottom;
  const y1 = M.top;
  if (all.length === 0) {
    out.push(`<text x="${(x0 + x1) / 2}" y="${(y0 + y1) / 2}" text-anchor="middle" fill="#555555">no completed steps</text>`, '</svg>');
    return `${out.join('\n')}\n`;
  }
  const rps = all.map((s) => s.offeredRps);
  const lat = all.flatMap((s) => [s.latency.p50, s.latency.p95, s.latency.p99]).filter((v) => v > 0);
  const xs = logScale(Math.min(...rps) / 1.25, Math.max(...rps) * 1.25, x0, x1);
  const ys = logScale(Math.min(...lat, slo.ms) / 1.5, Math.max(...lat, slo.ms) * 1.5, y0, y1);

  // Grid and axes.
  for (const v of xs.ticks()) {
    const x = xs.at(v).toFixed(1);
    out.push(`<line x1="${x}" y1="${y0}" x2="${x}" y2="${y1}" stroke="#eeeeee"/>`);
    out.push(`<text x="${x}" y="${y0 + 18}" text-anchor="middle">${fmt(v)}</text>`);
  }
  for (const v of ys.ticks()) {
    const y = ys.at(v).toFixed(1);
    out.push(`<line x1="${x0}" y1="${y}" x2="${x1}" y2="${y}" stroke="#eeeeee"/>`);
    out.push(`<text x="${x0 - 8}" y="${y}" text-anchor="end" dominant-baseline="middle">${fmt(v)}</text>`);
  }
  out.push(`<rect x="${x0}" y="${y1}" width="${x1 - x0}" height="${y0 - y1}" fill="none" stroke="#333333"/>`);
  out.push(`<text x="${(x0 + x1) / 2}" y="${H - 18}" text-anchor="middle">offered load (requests/s, log scale)</text>`);
  out.push(
    `<text x="18" y="${(y0 + y1) / 2}" text-anchor="middle" transform="rotate(-90 18 ${(y0 + y1) / 2})">latency (ms, log scale)</text>`,
  );

  // SLO line.
  const ySlo = ys.at(slo.ms).toFixed(1);
  out.push(
    `<line class="slo" x1="${x0}" y1="${ySlo}" x2="${x1}" y2="${ySlo}" stroke="${SLO_COLOR}" stroke-width="1.5" stroke-dasharray="6 3"/>`,
    // Left end: the curves usually cross the SLO towards the right.
    `<text x="${x0 + 6}" y="${+ySlo - 6}" fill="${SLO_COLOR}">SLO p${slo.percentile} ${fmt(slo.ms)} ms</text>`,
  );

  // One polyline per (target, percentile); markers on every step.
  lines.forEach((line, i) => {
    if (line.points.length === 0) return;
    const color = COLORS[i % COLORS.length] as string;
    for (const p of PERCENTILES) {
      const pts = line.points.map((s) => `${xs.at(s.offeredRps).toFixed(1)},${ys.at(Math.max(s.latency[p.key], ys.lo)).toFixed(1)}`);
      const dash = p.dash ? ` stroke-dasharray="${p.dash}"` : '';
      out.push(
        `<polyline data-target="${escapeXml(line.name)}" data-percentile="${p.key}" points="${pts.join(' ')}" fill="none" stroke="${color}" stroke-width="${p.width}"${dash}/>`,
      );
      for (const s of line.points) {
        const cx = xs.at(s.offeredRps).toFixed(1);
        const cy = ys.at(Math.max(s.latency[p.key], ys.lo)).toFixed(1);
        out.push(`<circle cx="${cx}" cy="${cy}" r="3" fill="${s.pass ? color : '#ffffff'}" stroke="${color}"/>`);
      }
    }
  });

  // Legend: targets by colour, percentiles by dash, the SLO.
  const lx = x1 + 16;
  let ly = y1 + 6;
  out.push(`<text x="${lx}" y="${ly}" font-weight="bold">targets</text>`);
  lines.forEach((line, i) => {
    ly += 18;
    const color = COLORS[i % COLORS.length] as string;
    out.push(`<line x1="${lx}" y1="${ly - 4}" x2="${lx + 22}" y2="${ly - 4}" stroke="${color}" stroke-width="2.5"/>`);
    out.push(`<text x="${lx + 28}" y="${ly}">${escapeXml(line.name)}${line.points.length === 0 ? ' (no data)' : ''}</text>`);
  });
  ly += 28;
  out.push(`<text x="${lx}" y="${ly}" font-weight="bold">percentiles</text>`);
  for (const p of PERCENTILES) {
    ly += 18;
    const dash = p.dash ? ` stroke-dasharray="${p.dash}"` : '';
    out.push(`<line x1="${lx}" y1="${ly - 4}" x2="${lx + 22}" y2="${ly - 4}" stroke="#333333" stroke-width="${p.width}"${dash}/>`);
    out.push(`<text x="${lx + 28}" y="${ly}">${p.key}</text>`);
  }
  ly += 18;
  out.push(`<line x1="${lx}" y1="${ly - 4}" x2="${lx + 22}" y2="${ly - 4}" stroke="${SLO_COLOR}" stroke-width="1.5" stroke-dasharray="6 3"/>`);
  out.push(`<text x="${lx + 28}" y="${ly}">SLO</text>`);
  ly += 18;
  out.push(`<circle cx="${lx + 11}" cy="${ly - 4}" r="3" fill="#ffffff" stroke="#333333"/>`);
  out.push(`<text x="${lx + 28}" y="${ly}">step missed SLO</text>`);
  if (r.simulated) {
    out.push(`<text x="${lx}" y="${y0}" fill="${SLO_COLOR}" font-weight="bold">SIMULATED (emulator)</text>`);
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
