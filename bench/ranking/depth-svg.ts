import type { RampWindowResult } from '../loadgen/ramp.js';
import { escapeXml } from '../report/svg.js';

/**
 * A dependency-free SVG of the depth controller under a traffic ramp, in the style of
 * report/svg.ts: three panels over the same time axis. Offered load; ranking depth (the
 * controller's gauge, sampled every second, and the mean depth of each window's answers); p95
 * latency per window from the client (log scale), with the controller's target and the SLO.
 * One colour per run. Windows that lost requests to timeouts or errors have hollow markers.
 */

const W = 880;
const M = { left: 72, right: 210, top: 56, bottom: 50 };
const PANEL_GAP = 34;
const PANEL_H = [110, 190, 210] as const;
const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#9467bd'];
const TARGET_COLOR = '#d62728';
const LOAD_COLOR = '#7f7f7f';

export interface DepthSample {
  /** Seconds from the start of the ramp. */
  tS: number;
  depth: number | null;
  signalMs: number | null;
}

export interface DepthChartRun {
  name: string;
  windows: readonly RampWindowResult[];
  /** The controller's state over time; empty for a run whose depth is fixed by the requests. */
  samples: readonly DepthSample[];
}

export interface DepthChartOptions {
  title: string;
  subtitle: string;
  targetMs: number;
  sloMs: number;
  simulated: boolean;
}

const fmt = (v: number): string => (v >= 1000 ? `${+(v / 1000).toFixed(2)}k` : v >= 1 ? `${+v.toFixed(1)}` : `${+v.toPrecision(2)}`);

function linear(lo: number, hi: number, from: number, to: number): (v: number) => number {
  return (v) => from + ((v - lo) / (hi - lo || 1)) * (to - from);
}

function niceTicks(lo: number, hi: number, count: number): number[] {
  const span = hi - lo;
  if (!(span > 0)) return [lo];
  const raw = span / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag) as number;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9; v += step) out.push(+v.toFixed(6));
  return out;
}

export function renderDepthSvg(runs: readonly DepthChartRun[], o: DepthChartOptions): string {
  const H = M.top + PANEL_H[0] + PANEL_H[1] + PANEL_H[2] + 2 * PANEL_GAP + M.bottom;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<title>${escapeXml(o.title)}</title>`,
    `<rect x="0" y="0" width="${W}" height="${H}" fill="#ffffff"/>`,
    `<text x="${M.left}" y="24" font-size="16" font-weight="bold">${escapeXml(o.title)}</text>`,
    `<text x="${M.left}" y="42" fill="#555555">${escapeXml(o.subtitle)}</text>`,
  ];
  const x0 = M.left;
  const x1 = W - M.right;
  const windows = runs.flatMap((r) => r.windows);
  if (windows.length === 0) {
    out.push(`<text x="${(x0 + x1) / 2}" y="${H / 2}" text-anchor="middle" fill="#555555">no data</text>`, '</svg>');
    return `${out.join('\n')}\n`;
  }
  const tMax = Math.max(...windows.map((w) => w.startS + w.durationS));
  const xs = linear(0, tMax, x0, x1);
  const mid = (w: RampWindowResult): number => w.startS + w.durationS / 2;

  // Panel geometry, top to bottom.
  const top0 = M.top;
  const top1 = top0 + PANEL_H[0] + PANEL_GAP;
  const top2 = top1 + PANEL_H[1] + PANEL_GAP;
  const frames = [
    { top: top0, h: PANEL_H[0], label: 'offered (req/s)' },
    { top: top1, h: PANEL_H[1], label: 'ranking depth D' },
    { top: top2, h: PANEL_H[2], label: 'p95 latency (ms, log)' },
  ];
  for (const f of frames) {
    for (const t of niceTicks(0, tMax, 8)) {
      const x = xs(t).toFixed(1);
      out.push(`<line x1="${x}" y1="${f.top}" x2="${x}" y2="${f.top + f.h}" stroke="#eeeeee"/>`);
    }
    out.push(`<rect x="${x0}" y="${f.top}" width="${x1 - x0}" height="${f.h}" fill="none" stroke="#333333"/>`);
    const cy = f.top + f.h / 2;
    out.push(`<text x="18" y="${cy}" text-anchor="middle" transform="rotate(-90 18 ${cy})">${escapeXml(f.label)}</text>`);
  }
  const yBottom = top2 + PANEL_H[2];
  for (const t of niceTicks(0, tMax, 8)) out.push(`<text x="${xs(t).toFixed(1)}" y="${yBottom + 18}" text-anchor="middle">${fmt(t)}</text>`);
  out.push(`<text x="${(x0 + x1) / 2}" y="${H - 12}" text-anchor="middle">time since the ramp started (s)</text>`);

  // Panel 1: offered load (the same for every run: the first run's windows).
  const load = (runs[0] as DepthChartRun).windows;
  const rpsMax = Math.max(...load.map((w) => w.offeredRps)) * 1.15 || 1;
  const yl = linear(0, rpsMax, top0 + PANEL_H[0], top0);
  for (const v of niceTicks(0, rpsMax, 3)) {
    const y = yl(v).toFixed(1);
    out.push(`<line x1="${x0}" y1="${y}" x2="${x1}" y2="${y}" stroke="#eeeeee"/>`);
    out.push(`<text x="${x0 - 8}" y="${y}" text-anchor="end" dominant-baseline="middle">${fmt(v)}</text>`);
  }
  const steps: string[] = [];
  for (const w of load) {
    steps.push(`${xs(w.startS).toFixed(1)},${yl(w.offeredRps).toFixed(1)}`, `${xs(w.startS + w.durationS).toFixed(1)},${yl(w.offeredRps).toFixed(1)}`);
  }
  out.push(`<polyline class="offered" points="${steps.join(' ')}" fill="none" stroke="${LOAD_COLOR}" stroke-width="2"/>`);

  // Panel 2: depth.
  const depths = runs.flatMap((r) => [
    ...r.samples.flatMap((s) => (s.depth === null ? [] : [s.depth])),
    ...r.windows.flatMap((w) => (w.depth === null ? [] : [w.depth.max])),
  ]);
  const dMax = Math.max(100, ...depths) * 1.1;
  const yd = linear(0, dMax, top1 + PANEL_H[1], top1);
  for (const v of niceTicks(0, dMax, 5)) {
    const y = yd(v).toFixed(1);
    out.push(`<line x1="${x0}" y1="${y}" x2="${x1}" y2="${y}" stroke="#eeeeee"/>`);
    out.push(`<text x="${x0 - 8}" y="${y}" text-anchor="end" dominant-baseline="middle">${fmt(v)}</text>`);
  }
  runs.forEach((r, i) => {
    const color = COLORS[i % COLORS.length] as string;
    const gauge = r.samples.filter((s) => s.depth !== null && s.tS >= 0 && s.tS <= tMax);
    if (gauge.length > 0) {
      const pts = gauge.map((s) => `${xs(s.tS).toFixed(1)},${yd(s.depth as number).toFixed(1)}`);
      out.push(`<polyline data-run="${escapeXml(r.name)}" data-series="depth-gauge" points="${pts.join(' ')}" fill="none" stroke="${color}" stroke-width="2"/>`);
    }
    const ws = r.windows.filter((w) => w.depth !== null);
    if (gauge.length === 0 && ws.length > 0) {
      const pts = ws.map((w) => `${xs(mid(w)).toFixed(1)},${yd((w.depth as { mean: number }).mean).toFixed(1)}`);
      out.push(`<polyline data-run="${escapeXml(r.name)}" data-series="depth-answers" points="${pts.join(' ')}" fill="none" stroke="${color}" stroke-width="2"/>`);
    }
    for (const w of ws) {
      out.push(`<circle cx="${xs(mid(w)).toFixed(1)}" cy="${yd((w.depth as { mean: number }).mean).toFixed(1)}" r="3" fill="${color}" stroke="${color}"/>`);
    }
  });

  // Panel 3: p95 per window, log scale, with target and SLO.
  const lat = runs.flatMap((r) => r.windows.filter((w) => w.latency.count > 0).map((w) => w.latency.p95));
  const sig = runs.flatMap((r) => r.samples.flatMap((s) => (s.signalMs !== null && s.signalMs > 0 ? [s.signalMs] : [])));
  const lo = Math.min(...lat, ...sig, o.targetMs) / 1.5;
  const hi = Math.max(...lat, ...sig, o.sloMs) * 1.5;
  const la = Math.log10(lo);
  const lb = Math.log10(hi);
  const yp = (v: number): number => top2 + PANEL_H[2] - ((Math.log10(Math.max(v, lo)) - la) / (lb - la)) * PANEL_H[2];
  for (let d = Math.floor(la); d <= Math.ceil(lb); d++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** d;
      if (v < lo || v > hi) continue;
      const y = yp(v).toFixed(1);
      out.push(`<line x1="${x0}" y1="${y}" x2="${x1}" y2="${y}" stroke="#eeeeee"/>`);
      out.push(`<text x="${x0 - 8}" y="${y}" text-anchor="end" dominant-baseline="middle">${fmt(v)}</text>`);
    }
  }
  const yT = yp(o.targetMs).toFixed(1);
  const yS = yp(o.sloMs).toFixed(1);
  out.push(
    `<line class="target" x1="${x0}" y1="${yT}" x2="${x1}" y2="${yT}" stroke="${TARGET_COLOR}" stroke-width="1.5" stroke-dasharray="6 3"/>`,
    `<text x="${x0 + 6}" y="${+yT + 14}" fill="${TARGET_COLOR}">controller target p95 ${fmt(o.targetMs)} ms</text>`,
    `<line class="slo" x1="${x0}" y1="${yS}" x2="${x1}" y2="${yS}" stroke="${TARGET_COLOR}" stroke-width="1" stroke-dasharray="2 3"/>`,
    `<text x="${x0 + 6}" y="${+yS - 6}" fill="${TARGET_COLOR}">SLO p95 ${fmt(o.sloMs)} ms</text>`,
  );
  runs.forEach((r, i) => {
    const color = COLORS[i % COLORS.length] as string;
    const ws = r.windows.filter((w) => w.latency.count > 0);
    if (ws.length > 0) {
      const pts = ws.map((w) => `${xs(mid(w)).toFixed(1)},${yp(w.latency.p95).toFixed(1)}`);
      out.push(`<polyline data-run="${escapeXml(r.name)}" data-series="p95" points="${pts.join(' ')}" fill="none" stroke="${color}" stroke-width="2.5"/>`);
      for (const w of ws) {
        const lost = w.timeouts + w.errors > 0;
        out.push(`<circle cx="${xs(mid(w)).toFixed(1)}" cy="${yp(w.latency.p95).toFixed(1)}" r="3" fill="${lost ? '#ffffff' : color}" stroke="${color}"/>`);
      }
    }
    const s = r.samples.filter((x) => x.signalMs !== null && x.signalMs > 0 && x.tS >= 0 && x.tS <= tMax);
    if (s.length > 0) {
      const pts = s.map((x) => `${xs(x.tS).toFixed(1)},${yp(x.signalMs as number).toFixed(1)}`);
      out.push(`<polyline data-run="${escapeXml(r.name)}" data-series="signal" points="${pts.join(' ')}" fill="none" stroke="${color}" stroke-width="1" stroke-dasharray="2 3"/>`);
    }
  });

  // Legend.
  const lx = x1 + 16;
  let ly = M.top + 6;
  out.push(`<text x="${lx}" y="${ly}" font-weight="bold">runs</text>`);
  runs.forEach((r, i) => {
    ly += 18;
    const color = COLORS[i % COLORS.length] as string;
    out.push(`<line x1="${lx}" y1="${ly - 4}" x2="${lx + 22}" y2="${ly - 4}" stroke="${color}" stroke-width="2.5"/>`);
    out.push(`<text x="${lx + 28}" y="${ly}">${escapeXml(r.name)}</text>`);
  });
  ly += 28;
  out.push(`<text x="${lx}" y="${ly}" font-weight="bold">series</text>`);
  const legend: Array<[string, string, string]> = [
    [LOAD_COLOR, '', 'offered load (req/s)'],
    ['#333333', '', 'depth: controller gauge'],
    ['#333333', 'dot', 'depth: mean of answers'],
    ['#333333', '', 'p95 per window (client)'],
    ['#333333', '2 3', 'controller signal (p95, 10 s)'],
    [TARGET_COLOR, '6 3', 'controller target'],
    [TARGET_COLOR, '2 3', 'SLO'],
  ];
  for (const [color, dash, text] of legend) {
    ly += 18;
    if (dash === 'dot') out.push(`<circle cx="${lx + 11}" cy="${ly - 4}" r="3" fill="${color}"/>`);
    else out.push(`<line x1="${lx}" y1="${ly - 4}" x2="${lx + 22}" y2="${ly - 4}" stroke="${color}" stroke-width="2"${dash ? ` stroke-dasharray="${dash}"` : ''}/>`);
    out.push(`<text x="${lx + 28}" y="${ly}">${escapeXml(text)}</text>`);
  }
  ly += 18;
  out.push(`<circle cx="${lx + 11}" cy="${ly - 4}" r="3" fill="#ffffff" stroke="#333333"/>`);
  out.push(`<text x="${lx + 28}" y="${ly}">window lost requests</text>`);
  if (o.simulated) out.push(`<text x="${lx}" y="${yBottom}" fill="${TARGET_COLOR}" font-weight="bold">SIMULATED (emulator)</text>`);
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
