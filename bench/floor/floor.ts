import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as hdr from 'hdr-histogram-js';
import { Pool } from 'undici';
import { NODE_FLAGS } from '../../src/cli/node-flags.js';
import { BODY, CLOSED_SECONDS, CONNECTIONS, type Closed, DIST, type Proc, ROOT, ensureTools, freePort, log, median, nginxWorker, runBench, runWrk, startPinned, staticScript, writeReport } from './common.js';

/**
 * `npm run bench:floor`: scorecar's hot path against the floor, in one run on this machine. A
 * fixed-answer backend (bench/floor/fixed-backend.ts) sits behind three proxies in turn: nginx
 * (Debian's, one worker, keep-alive upstream: bench/floor/nginx.conf), a naive Node proxy
 * (bench/floor/naive-proxy.ts: JSON.parse, undici Pool, JSON.stringify) and scorecar
 * (score cache and coalescing off). Each proxy is pinned to core 0 with taskset; wrk, the backend
 * and this script run on core 1.
 *
 * Closed loop: wrk, 32 connections, 8 s per round, the proxies interleaved for ROUNDS rounds.
 * The proxy's own CPU time is sampled from /proc over each run, so the figure that compares them
 * is requests per proxy CPU-second (nginx's core is not saturated when wrk is the limit).
 * Open loop: Poisson arrivals at OPEN_RPS for OPEN_SECONDS per target, direct to the backend and
 * through each proxy, interleaved; latency from each request's send; the p50/p99 each proxy
 * adds over direct.
 *
 * The body: a query of 50 token ids and 10 items of 170 ids (about 11 KB), as the hot-path issue
 * measured it.
 */
const ROUNDS = Number(process.env.FLOOR_ROUNDS ?? 3);
const OPEN_RPS = 200;
const OPEN_SECONDS = 10;

type Name = 'nginx' | 'naive' | 'scorecar';

async function openLoop(url: string, seed: number): Promise<{ p50: number; p99: number; errors: number }> {
  const pool = new Pool(url, { connections: 64, pipelining: 1, keepAliveTimeout: 60_000 });
  const h = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
  let x = seed >>> 0 || 1;
  const rnd = (): number => ((x = (Math.imul(x ^ (x >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0) / 4294967296);
  const schedule: number[] = [];
  for (let t = 0; ; ) {
    t += (-Math.log(1 - rnd()) * 1000) / OPEN_RPS;
    if (t >= OPEN_SECONDS * 1000) break;
    schedule.push(t);
  }
  let errors = 0;
  const send = async (): Promise<void> => {
    // Timed from the moment of sending, not from the scheduled time: Node's timers run on the
    // loop's cached millisecond clock, so a timer can wake up to ~1 ms before its time, which made
    // sub-millisecond latencies read as zero when timed from the schedule. The sends still follow
    // the Poisson schedule, whatever the answers do (open loop).
    const sent = performance.now();
    try {
      const r = await pool.request({ path: '/v1/score', method: 'POST', headers: { 'content-type': 'application/json' }, body: BODY });
      await r.body.dump();
      if (r.statusCode !== 200) errors++;
    } catch {
      errors++;
    }
    h.recordValue(Math.max(1, Math.round((performance.now() - sent) * 1000)));
  };
  const sends: Promise<void>[] = [];
  const start = performance.now() + 200;
  await new Promise<void>((done) => {
    let next = 0;
    // One timer chain sends whatever is due, then sleeps until the next send.
    const wake = (): void => {
      const now = performance.now() - start;
      while (next < schedule.length && (schedule[next] as number) <= now + 0.5) {
        sends.push(send());
        next++;
      }
      if (next === schedule.length) done();
      else setTimeout(wake, Math.max(0, (schedule[next] as number) - now));
    };
    setTimeout(wake, 200);
  });
  await Promise.all(sends);
  await pool.close();
  const out = { p50: h.getValueAtPercentile(50) / 1000, p99: h.getValueAtPercentile(99) / 1000, errors };
  h.destroy();
  return out;
}

async function main(procs: Proc[]): Promise<void> {
  ensureTools();
  const work = mkdtempSync(join(tmpdir(), 'scorecar-floor-'));
  const script = join(work, 'score.lua');
  writeFileSync(script, staticScript(BODY));
  const backend = await startPinned('backend', 1, process.execPath, [join(DIST, 'bench/floor/fixed-backend.js'), '0'], /listening on (http:\/\/\S+)/);
  procs.push(backend);
  const backendHost = backend.url.replace('http://', '');
  const nginxPort = freePort();
  for (const d of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(work, d), { recursive: true });
  const conf = readFileSync(join(ROOT, 'bench/floor/nginx.conf'), 'utf8')
    .replaceAll('__PORT__', String(nginxPort))
    .replaceAll('__BACKEND__', backendHost)
    .replaceAll('__PREFIX__', work);
  writeFileSync(join(work, 'nginx.conf'), conf);
  const nginxProc = await startPinned('nginx', 0, 'nginx', ['-c', join(work, 'nginx.conf'), '-p', work], null, `http://127.0.0.1:${nginxPort}`);
  const nginx: Proc = { ...nginxProc, cpuPid: () => nginxWorker(nginxProc.child.pid as number) };
  procs.push(nginx);
  // taskset execs the command, so the child's pid is the proxy's own.
  const naive = await startPinned('naive', 0, process.execPath, [join(DIST, 'bench/floor/naive-proxy.js'), '0', backend.url], /listening on (http:\/\/\S+)/);
  procs.push(naive);
  const scorecar = await startPinned(
    'scorecar',
    0,
    process.execPath,
    [...NODE_FLAGS, join(DIST, 'src/cli/main.js'), 'serve', '--host', '127.0.0.1', '--port', '0', '--grpc-port', '0', '--backend', backend.url, '--score-cache', 'off', '--coalesce-window-ms', '0', '--tokenizer-threads', '1'],
    /HTTP API on (http:\/\/\S+)/,
  );
  procs.push(scorecar);
  const proxies: Record<Name, Proc> = { nginx, naive, scorecar };
  // Each proxy answers with the backend's ten rows.
  for (const p of Object.values(proxies)) {
    const r = await fetch(`${p.url}/v1/score`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: BODY });
    const j = (await r.json()) as { scores?: unknown[] };
    if (r.status !== 200 || j.scores?.length !== 10) throw new Error(`${p.name} answered ${r.status}: ${JSON.stringify(j).slice(0, 200)}`);
  }

  const names: Name[] = ['nginx', 'naive', 'scorecar'];
  const closed: Record<Name, Closed[]> = { nginx: [], naive: [], scorecar: [] };
  log(`closed loop: wrk -t1 -c${CONNECTIONS} -d${CLOSED_SECONDS}s, ${ROUNDS} interleaved rounds`);
  runWrk(scorecar.url, script, scorecar.cpuPid()); // JIT warm-up, not recorded
  runWrk(naive.url, script, naive.cpuPid());
  for (let round = 0; round < ROUNDS; round++) {
    // Alternating order: no proxy always runs right after the same neighbour.
    for (const n of round % 2 === 1 ? [...names].reverse() : names) {
      const r = runWrk(proxies[n].url, script, proxies[n].cpuPid());
      closed[n].push(r);
      log(`  round ${round + 1} ${n}: ${r.rps.toFixed(0)} req/s, proxy core ${((r.cpuS / r.wallS) * 100).toFixed(0)}% busy, ${(r.requests / r.cpuS).toFixed(0)} req per CPU-second`);
    }
  }
  log(`open loop: Poisson ${OPEN_RPS} req/s (${OPEN_RPS * 10} items/s) for ${OPEN_SECONDS} s, interleaved with direct`);
  const open: Record<Name | 'direct', { p50: number; p99: number; errors: number }[]> = { direct: [], nginx: [], naive: [], scorecar: [] };
  for (let round = 0; round < ROUNDS; round++) {
    for (const n of ['direct', ...names] as const) {
      const r = await openLoop(n === 'direct' ? backend.url : proxies[n].url, 17 + round);
      open[n].push(r);
      log(`  round ${round + 1} ${n}: p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms, ${r.errors} errors`);
    }
  }

  const perCpu = (n: Name): number => median(closed[n].map((r) => r.requests / r.cpuS));
  const rps = (n: Name): number => median(closed[n].map((r) => r.rps));
  const busy = (n: Name): number => median(closed[n].map((r) => r.cpuS / r.wallS));
  const added = (n: Name, k: 'p50' | 'p99'): number => median(open[n].map((r, i) => r[k] - (open.direct[i]?.[k] ?? 0)));
  const rows = names.map(
    (n) =>
      `| ${n} | ${rps(n).toFixed(0)} | ${(busy(n) * 100).toFixed(0)}% | ${perCpu(n).toFixed(0)} | ${(perCpu(n) / perCpu('naive')).toFixed(2)}x | ${(perCpu(n) / perCpu('nginx')).toFixed(2)}x | +${added(n, 'p50').toFixed(2)} | +${added(n, 'p99').toFixed(2)} |`,
  );
  // The VM's speed moves between rounds (steal, neighbours): a ratio within one round compares
  // proxies that ran seconds apart, so it is reported beside the ratio of medians.
  const roundRatios = (a: Name, b: Name): number[] => closed[a].map((r, i) => r.requests / r.cpuS / ((closed[b][i] as Closed).requests / (closed[b][i] as Closed).cpuS));
  const ratioLine = (b: Name): string => {
    const rs = roundRatios('scorecar', b);
    return `scorecar / ${b} per proxy CPU-second, round by round: ${rs.map((x) => `${x.toFixed(2)}x`).join(', ')}; median ${median(rs).toFixed(2)}x.`;
  };
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  const md = [
    '# bench:floor: scorecar against nginx and a naive Node proxy',
    '',
    `Command: \`npm run bench:floor\`. Fixed-answer backend; body: query of 50 ids + 10 items of 170 ids (${BODY.length} bytes); each proxy pinned to core 0, wrk and the backend on core 1; score cache and coalescing off in scorecar. ${new Date().toISOString().slice(0, 10)}, Node ${process.version}, load average at the end ${load}.`,
    '',
    `Closed loop: wrk -t1 -c${CONNECTIONS}, ${CLOSED_SECONDS} s per run, ${ROUNDS} interleaved rounds, medians. Open loop: Poisson ${OPEN_RPS} req/s (${OPEN_RPS * 10} items/s) for ${OPEN_SECONDS} s, latency from each request's send; added = proxy minus direct in the same round, median of ${ROUNDS}.`,
    '',
    '| proxy | req/s (closed) | proxy core busy | req per proxy CPU-second | vs naive | vs nginx | p50 added (ms) | p99 added (ms) |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
    ...rows,
    '',
    ratioLine('naive'),
    ratioLine('nginx'),
    '',
    `Direct p50 / p99: ${median(open.direct.map((r) => r.p50)).toFixed(2)} / ${median(open.direct.map((r) => r.p99)).toFixed(2)} ms.`,
    '',
    'Per-run figures:',
    '',
    ...names.flatMap((n) => closed[n].map((r, i) => `- ${n} round ${i + 1}: ${r.rps.toFixed(0)} req/s, ${r.cpuS.toFixed(2)} CPU-s over ${r.wallS.toFixed(1)} s`)),
    ...(['direct', ...names] as const).flatMap((n) => open[n].map((r, i) => `- ${n} open loop round ${i + 1}: p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms, ${r.errors} errors`)),
    '',
  ].join('\n');
  writeReport('floor', md);
}

runBench('floor', main);
