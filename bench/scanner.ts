/**
 * `npm run bench:scanner`: what id-scan.ts's WebAssembly loop buys, first in the /v1/score byte
 * scanner alone, then end to end.
 *
 * Alone, on one thread, jobs checked equal: each round scans each body 20,000 times with the
 * canonical id lists read in WebAssembly, then in JavaScript (order alternating); 7 rounds after
 * one warm-up, medians of the per-round ratios. Bodies: bench:floor's (50 + 10 x 170 ids, ~11 KB),
 * the same as Python's json.dumps writes it (", " separators), and one of 100 items of 170 ids
 * (~100 KB, past the 64 KB window, so lists are read across windows).
 *
 * End to end, as bench:floor sets it up (fixed-answer backend and wrk on core 1, the proxy on core
 * 0, floor body, score cache and coalescing off): two scorecars of this build, one started with
 * bench/floor/js-id-scan.ts preloaded (JavaScript reader), interleaved for SCANNER_ROUNDS rounds of
 * 8 s; requests per proxy CPU-second and heap per item from /metrics.
 *
 * Run: npm run build && npm run bench:scanner
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scanScoreBody, useWasmIdScan } from '../src/api/http/score-scanner.js';
import { ScoreJob } from '../src/pipeline/score-job.js';
import { BODY, DIST, PYTHON_BODY, scorecarSample, type Proc, ensureTools, ids, log, median, runBench, runWrk, startPinned, staticScript, writeReport } from './floor/common.js';

const SCANS = 20_000;
const ROUNDS = 7;
const E2E_ROUNDS = Number(process.env.SCANNER_ROUNDS ?? 6);
const bodies: Array<[string, Buffer, number]> = [
  ['floor body (10 items)', Buffer.from(BODY), SCANS],
  ['floor body as Python writes it', Buffer.from(PYTHON_BODY), SCANS],
  ['100 items of 170 ids', Buffer.from(JSON.stringify({ query: ids(50, 1), items: Array.from({ length: 100 }, (_, k) => ids(170, k + 2)), label_token_ids: [9693, 2152] })), SCANS / 10],
];

function scan(body: Buffer, job: ScoreJob, times: number, wasm: boolean): number {
  useWasmIdScan(wasm);
  const t0 = performance.now();
  for (let i = 0; i < times; i++) {
    job.reset();
    if (!scanScoreBody(body, body.length, job, 10_000)) throw new Error('the bench body took the slow path');
  }
  return ((performance.now() - t0) * 1000) / times;
}

function sameJob(a: ScoreJob, b: ScoreJob): boolean {
  if (a.arenaUsed !== b.arenaUsed || a.idMax !== b.idMax || a.n !== b.n) return false;
  for (let i = 0; i < a.arenaUsed; i++) if (a.arena[i] !== b.arena[i]) return false;
  for (let i = 0; i < 4 * a.n; i++) if (a.idSpan[i] !== b.idSpan[i]) return false;
  return true;
}

function alone(): string[] {
  const lines: string[] = [];
  for (const [name, body, times] of bodies) {
    const w = new ScoreJob();
    const j = new ScoreJob();
    scan(body, w, 1, true);
    scan(body, j, 1, false);
    if (!sameJob(w, j)) throw new Error(`${name}: the two readers filled different jobs`);
    scan(body, w, times, true);
    scan(body, j, times, false);
    const rounds: Array<{ wasm: number; js: number }> = [];
    for (let r = 0; r < ROUNDS; r++) {
      const first = r % 2 === 0;
      const a = scan(body, first ? w : j, times, first);
      const b = scan(body, first ? j : w, times, !first);
      rounds.push(first ? { wasm: a, js: b } : { wasm: b, js: a });
    }
    useWasmIdScan(true);
    const ratio = median(rounds.map((x) => x.js / x.wasm));
    lines.push(
      `| ${name} | ${body.length} | ${median(rounds.map((x) => x.js)).toFixed(2)} | ${median(rounds.map((x) => x.wasm)).toFixed(2)} | ${ratio.toFixed(2)}x |`,
    );
    process.stdout.write(`${name}: per round JS / WebAssembly ${rounds.map((x) => (x.js / x.wasm).toFixed(2)).join(', ')}\n`);
  }
  return lines;
}

interface E2e {
  perCpu: number;
  heapPerItem: number;
  gc10k: number;
}

async function endToEnd(procs: Proc[]): Promise<string[]> {
  ensureTools();
  const work = mkdtempSync(join(tmpdir(), 'scorecar-scanner-'));
  const script = join(work, 'floor.lua');
  writeFileSync(script, staticScript(BODY));
  const backend = await startPinned('backend', 1, process.execPath, [join(DIST, 'bench/floor/fixed-backend.js'), '0'], /listening on (http:\/\/\S+)/);
  procs.push(backend);
  const serve = ['serve', '--host', '127.0.0.1', '--port', '0', '--grpc-port', '0', '--backend', backend.url, '--score-cache', 'off', '--coalesce-window-ms', '0', '--tokenizer-threads', '1'];
  const main = join(DIST, 'src/cli/main.js');
  const ready = /HTTP API on (http:\/\/\S+)/;
  const wasm = await startPinned('wasm', 0, process.execPath, [main, ...serve], ready);
  procs.push(wasm);
  const js = await startPinned('js', 0, process.execPath, ['--import', join(DIST, 'bench/floor/js-id-scan.js'), main, ...serve], ready);
  procs.push(js);
  const measure = async (p: Proc): Promise<E2e> => {
    const a = await scorecarSample(p);
    const r = runWrk(p.url, script, p.cpuPid());
    const b = await scorecarSample(p);
    const items = b.items - a.items;
    return { perCpu: r.requests / r.cpuS, heapPerItem: (b.heapBytes - a.heapBytes) / items, gc10k: ((b.gcSeconds - a.gcSeconds) * 1000 * 10_000) / items };
  };
  log('end to end: one warm-up run each');
  await measure(wasm);
  await measure(js);
  const rounds: Array<{ wasm: E2e; js: E2e }> = [];
  for (let r = 0; r < E2E_ROUNDS; r++) {
    const first = r % 2 === 0 ? wasm : js;
    const x = await measure(first);
    const y = await measure(first === wasm ? js : wasm);
    const round = first === wasm ? { wasm: x, js: y } : { wasm: y, js: x };
    rounds.push(round);
    log(`  round ${r + 1}: req per CPU-s WebAssembly ${round.wasm.perCpu.toFixed(0)}, JavaScript ${round.js.perCpu.toFixed(0)}`);
  }
  const row = (name: string, pick: (x: { wasm: E2e; js: E2e }) => E2e): string => {
    const xs = rounds.map(pick);
    return `| ${name} | ${median(xs.map((x) => x.perCpu)).toFixed(0)} | ${median(xs.map((x) => x.heapPerItem)).toFixed(0)} | ${median(xs.map((x) => x.gc10k)).toFixed(2)} |`;
  };
  const ratios = rounds.map((x) => x.wasm.perCpu / x.js.perCpu);
  return [
    `End to end (bench:floor's setup: fixed-answer backend and wrk -t1 -c32 on core 1, each scorecar pinned to core 0, floor body, score cache and coalescing off), ${E2E_ROUNDS} interleaved rounds of 8 s after one warm-up run each, medians:`,
    '',
    '| id reader | req per proxy CPU-second | heap B per item | GC ms per 10k items |',
    '|---|---:|---:|---:|',
    row('WebAssembly', (x) => x.wasm),
    row('JavaScript', (x) => x.js),
    '',
    `WebAssembly / JavaScript requests per CPU-second, round by round: ${ratios.map((x) => `${x.toFixed(2)}x`).join(', ')}; median ${median(ratios).toFixed(2)}x.`,
    '',
  ];
}

runBench('scanner', async (procs) => {
  const lines = alone();
  const e2e = process.env.SCANNER_ROUNDS === '0' ? [] : await endToEnd(procs);
  const md = [
    '# bench:scanner: id lists read in WebAssembly or in JavaScript',
    '',
    `Command: \`npm run build && npm run bench:scanner\`. ${new Date().toISOString().slice(0, 10)}, Node ${process.version}.`,
    '',
    `The scanner alone (scanScoreBody, from bytes to a filled ScoreJob), one thread; each round scans each body with each reader in turn, order alternating; ${ROUNDS} rounds after one warm-up; medians. Both readers' jobs are checked equal first.`,
    '',
    '| body | bytes | JavaScript µs per body | WebAssembly µs per body | speed-up (median of rounds) |',
    '|---|---:|---:|---:|---:|',
    ...lines,
    '',
    ...e2e,
  ].join('\n');
  writeReport('scanner', md);
});
