import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { Pool, request } from 'undici';
import { type Child, startCli, startEmulator } from './calibrate/processes.js';
import { describeCpus, machineInfo } from './report/machine.js';

/**
 * `npm run bench:fleet` (issue 15): how throughput scales with backends, and what a retry and a
 * hedge cost.
 *
 * Scaling: three emulators, each a fixed-capacity SIMULATED GPU (cost model: 100 us per prompt
 * token, so about 10k prompt tokens/s each, whatever the CPU does: slow enough that three of
 * them and scorecar do not run out of this 2-core VM's CPU), and three scorecars in front
 * of 1, 2 and 3 of them. A closed loop of clients sends ids requests (8 items, 40 tokens each
 * with the query) to one scorecar at a time; the variants are interleaved round by round and
 * the median per variant reported, since the shared VM's speed drifts.
 *
 * Retry and hedge: zero-cost emulators (scorecar's own cost shows), a few clients.
 * A retry: one of two backends answers every scoring call 500 and is never ejected, so a share
 * of calls fail once and are retried on the other; the cost per retry is the added mean latency
 * and scorecar CPU divided by the retries per request. A hedge: --hedge on against off with
 * healthy backends (hedges fire for calls slower than the backends' p95), and the cost per hedge
 * the same way.
 */
const ROUNDS = Number(process.env.FLEET_ROUNDS ?? 3);
const SECONDS = Number(process.env.FLEET_SECONDS ?? 6);
/** Clients per backend: the load grows with the fleet, so each variant runs at the same per-backend load (about 200 ms latency, inside the 500 ms SLO). */
const CLIENTS = Number(process.env.FLEET_CLIENTS ?? 6);
const SERIAL_REQUESTS = Number(process.env.FLEET_SERIAL ?? 3000);
const SERIAL_CLIENTS = 4;
const COST = ['--cost', 'perTokenUs=100', '--cost', 'stepLaunchUs=0', '--cost', 'requestOverheadUs=0'];
const ITEMS = 8;
/**
 * Requests with distinct queries: identical ones arriving together would be coalesced into one
 * backend call (one pack, one backend), which measures the coalescer, not the fleet.
 */
const BODIES = Array.from({ length: 512 }, (_, n) =>
  Buffer.from(
    JSON.stringify({
      query: Array.from({ length: 24 }, (_, i) => 1000 + ((n * 24 + i) % 50000)),
      items: Array.from({ length: ITEMS }, (_, k) => Array.from({ length: 16 }, (_, i) => 2000 + 16 * k + i)),
      label_token_ids: [9693, 2152],
    }),
  ),
);
let nextBody = 0;
function body(): Buffer {
  nextBody = (nextBody + 1) % BODIES.length;
  return BODIES[nextBody] as Buffer;
}

function cpuMs(pid: number): number {
  // /proc/<pid>/stat fields 14 and 15: user and system time in clock ticks (100 per second).
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
}

function serve(backends: string[], args: string[] = []): Promise<Child> {
  return startCli(
    ['serve', '--host', '127.0.0.1', '--port', '0', '--grpc-port', '0', '--tokenizer-threads', '1', '--score-cache', 'off', ...backends.flatMap((b) => ['--backend', b]), ...args],
    /HTTP API on (http:\/\/\S+)/,
  );
}

async function closedLoop(url: string, clients: number, seconds: number): Promise<{ rps: number; errors: number; statuses: Map<number, number> }> {
  const pool = new Pool(url, { connections: clients, pipelining: 1 });
  let done = 0;
  let errors = 0;
  const statuses = new Map<number, number>();
  const end = performance.now() + seconds * 1000;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < end) {
        const r = await pool.request({ path: '/v1/score', method: 'POST', body: body(), headers: { 'content-type': 'application/json' } });
        await r.body.arrayBuffer();
        if (r.statusCode === 200) done++;
        else {
          errors++;
          statuses.set(r.statusCode, (statuses.get(r.statusCode) ?? 0) + 1);
        }
      }
    }),
  );
  const took = (performance.now() - t0) / 1000;
  await pool.close();
  return { rps: done / took, errors, statuses };
}

/**
 * SERIAL_CLIENTS clients, n requests in all: mean latency, scorecar CPU per request. A few
 * clients rather than one, so that the pick sees unequal loads and sends calls to the failing
 * backend (with one client every tie goes to the backend with the better latency record).
 */
async function serial(sc: Child, n: number): Promise<{ meanMs: number; p50: number; p99: number; cpuUsPerReq: number; errors: number }> {
  const pool = new Pool(sc.url, { connections: SERIAL_CLIENTS, pipelining: 1 });
  const lat: number[] = [];
  let errors = 0;
  let left = n;
  const cpu0 = cpuMs(sc.child.pid as number);
  await Promise.all(
    Array.from({ length: SERIAL_CLIENTS }, async () => {
      while (left-- > 0) {
        const t = performance.now();
        const r = await pool.request({ path: '/v1/score', method: 'POST', body: body(), headers: { 'content-type': 'application/json' } });
        await r.body.arrayBuffer();
        lat.push(performance.now() - t);
        if (r.statusCode !== 200) errors++;
      }
    }),
  );
  const cpu = cpuMs(sc.child.pid as number) - cpu0;
  await pool.close();
  lat.sort((a, b) => a - b);
  return { meanMs: lat.reduce((a, b) => a + b, 0) / n, p50: lat[Math.floor(n / 2)]!, p99: lat[Math.floor(n * 0.99)]!, cpuUsPerReq: (cpu * 1000) / n, errors };
}

async function metricSum(url: string, name: string): Promise<number> {
  const r = await request(`${url}/metrics`);
  const text = await r.body.text();
  let sum = 0;
  for (const line of text.split('\n')) if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  return sum;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function scaling(): Promise<string[]> {
  const emus = [await startEmulator(COST), await startEmulator(COST), await startEmulator(COST)];
  const scs = [await serve([emus[0]!.url]), await serve([emus[0]!.url, emus[1]!.url]), await serve(emus.map((e) => e.url))];
  try {
    // One emulator's capacity straight, for reference.
    const straight = await closedLoop(emus[0]!.url, CLIENTS, SECONDS);
    for (const [i, sc] of scs.entries()) await closedLoop(sc.url, CLIENTS * (i + 1), 2); // warm-up
    const per: number[][] = [[], [], []];
    let errors = 0;
    const statuses = new Map<number, number>();
    for (let round = 0; round < ROUNDS; round++) {
      // Rotate the order each round so no variant always runs first or last.
      for (let k = 0; k < 3; k++) {
        const v = (round + k) % 3;
        const r = await closedLoop(scs[v]!.url, CLIENTS * (v + 1), SECONDS);
        per[v]!.push(r.rps * ITEMS);
        errors += r.errors;
        for (const [k, n] of r.statuses) statuses.set(k, (statuses.get(k) ?? 0) + n);
        process.stderr.write(`round ${round + 1}: ${v + 1} backend(s): ${(r.rps * ITEMS).toFixed(0)} items/s\n`);
      }
    }
    const m = per.map(median);
    const rows = [
      `One emulator straight (no scorecar): ${(straight.rps * ITEMS).toFixed(0)} items/s.`,
      '',
      '| backends | items/s (median of rounds) | each round | vs 1 backend |',
      '|---|---|---|---|',
      ...m.map((x, i) => `| ${i + 1} | ${x.toFixed(0)} | ${per[i]!.map((y) => y.toFixed(0)).join(', ')} | ${(x / m[0]!).toFixed(2)}x |`),
      '',
      `Non-200 answers during the scaling runs: ${errors}${errors > 0 ? ` (${[...statuses].map(([k, n]) => `${n} x ${k}`).join(', ')}: the shaper refusing what would wait past its queue-time bound)` : ''}.`,
    ];
    return rows;
  } finally {
    for (const p of [...scs, ...emus]) await p.stop();
  }
}

async function setFaults(url: string, faults: Record<string, number>): Promise<void> {
  const r = await request(`${url}/emulator/faults`, { method: 'POST', body: JSON.stringify(faults) });
  await r.body.text();
}

async function retryAndHedge(): Promise<string[]> {
  const a = await startEmulator([]);
  const b = await startEmulator([]);
  // Never ejected, budget never short: every call that lands on the failing backend is retried.
  // No coalescing: every request is its own backend call, so shares and costs are per request.
  const retryArgs = ['--eject-consecutive-failures', '1000000', '--retry-budget-ratio', '1', '--retry-min-per-s', '1000', '--coalesce-window-ms', '0'];
  const plain = await serve([a.url, b.url], retryArgs);
  const hedged = await serve([a.url, b.url], [...retryArgs, '--hedge', '--hedge-min-delay-ms', '0']);
  try {
    for (const sc of [plain, hedged]) await serial(sc, 300); // warm-up, latency windows filled
    const base: number[][] = [];
    const faulted: number[][] = [];
    const hedgeOn: number[][] = [];
    let retried = 0;
    let faultedRequests = 0;
    let hedges = 0;
    let hedgeWon = 0;
    let hedgeRequests = 0;
    const row = (s: Awaited<ReturnType<typeof serial>>): number[] => [s.meanMs, s.p50, s.p99, s.cpuUsPerReq];
    for (let round = 0; round < ROUNDS; round++) {
      base.push(row(await serial(plain, SERIAL_REQUESTS)));
      const h0 = (await metricSum(hedged.url, 'scorecar_backend_hedges_won_total')) + (await metricSum(hedged.url, 'scorecar_backend_hedges_lost_total'));
      const w0 = await metricSum(hedged.url, 'scorecar_backend_hedges_won_total');
      hedgeOn.push(row(await serial(hedged, SERIAL_REQUESTS)));
      hedges += (await metricSum(hedged.url, 'scorecar_backend_hedges_won_total')) + (await metricSum(hedged.url, 'scorecar_backend_hedges_lost_total')) - h0;
      hedgeWon += (await metricSum(hedged.url, 'scorecar_backend_hedges_won_total')) - w0;
      hedgeRequests += SERIAL_REQUESTS;
      await setFaults(a.url, { errorRate: 1 });
      const r0 = await metricSum(plain.url, 'scorecar_backend_retries_total');
      const f = await serial(plain, SERIAL_REQUESTS);
      retried += (await metricSum(plain.url, 'scorecar_backend_retries_total')) - r0;
      faultedRequests += SERIAL_REQUESTS;
      if (f.errors > 0) throw new Error(`${f.errors} failed requests with retries on`);
      faulted.push(row(f));
      await setFaults(a.url, { errorRate: 0 });
      process.stderr.write(`round ${round + 1}: base ${base.at(-1)![0]!.toFixed(3)} ms, retrying ${faulted.at(-1)![0]!.toFixed(3)} ms, hedged ${hedgeOn.at(-1)![0]!.toFixed(3)} ms\n`);
    }
    const col = (rows: number[][], i: number): number => median(rows.map((r) => r[i]!));
    const retryShare = retried / faultedRequests;
    const hedgeShare = hedges / hedgeRequests;
    const fmt = (rows: number[][]): string => `${col(rows, 0).toFixed(3)} | ${col(rows, 1).toFixed(3)} | ${col(rows, 2).toFixed(3)} | ${col(rows, 3).toFixed(0)}`;
    return [
      '| variant | mean ms | p50 ms | p99 ms | scorecar CPU µs / request |',
      '|---|---|---|---|---|',
      `| 2 healthy backends | ${fmt(base)} |`,
      `| one backend answers 500, retried (${(retryShare * 100).toFixed(0)}% of requests retried) | ${fmt(faulted)} |`,
      `| --hedge, 2 healthy backends (${(hedgeShare * 100).toFixed(1)}% of requests hedged, ${hedges > 0 ? ((hedgeWon / hedges) * 100).toFixed(0) : '0'}% of hedges won) | ${fmt(hedgeOn)} |`,
      '',
      `Cost of one retry (the failed call and its retry): ${((col(faulted, 0) - col(base, 0)) / retryShare).toFixed(3)} ms added latency, ${((col(faulted, 3) - col(base, 3)) / retryShare).toFixed(0)} µs scorecar CPU.`,
      hedges > 0
        ? `Cost of one hedge: ${((col(hedgeOn, 3) - col(base, 3)) / hedgeShare).toFixed(0)} µs scorecar CPU (the second call and the cancelled one); mean latency ${(col(hedgeOn, 0) - col(base, 0)).toFixed(3)} ms against hedging off.`
        : 'No hedge fired.',
    ];
  } finally {
    for (const p of [plain, hedged, a, b]) await p.stop();
  }
}

async function main(): Promise<void> {
  const started = new Date().toISOString();
  const scale = await scaling();
  const costs = await retryAndHedge();
  const m = machineInfo();
  const md = [
    '# Fleet: scaling with backends, cost of a retry and of a hedge (`npm run bench:fleet`)',
    '',
    `Command: \`npm run build && npm run bench:fleet\` (defaults: FLEET_ROUNDS=${ROUNDS}, FLEET_SECONDS=${SECONDS}, FLEET_CLIENTS=${CLIENTS}, FLEET_SERIAL=${SERIAL_REQUESTS}); started ${started}.`,
    `Machine: ${describeCpus(m)}. The VM is shared and noisy (a CI run and other work ran beside it): variants are interleaved round by round and medians reported; read ratios, not absolute numbers.`,
    '',
    '## Items/s with 1, 2 and 3 emulators behind one scorecar',
    '',
    `Each emulator is a SIMULATED fixed-capacity GPU (cost model ${COST.filter((x) => x !== '--cost').join(', ')}); ${CLIENTS} closed-loop clients per backend, ${SECONDS} s per run, requests of ${ITEMS} items (ids, ${24 + 16} prompt tokens per item).`,
    '',
    ...scale,
    '',
    '## Cost of a retry and of a hedge',
    '',
    `Zero-cost emulators, ${SERIAL_CLIENTS} closed-loop clients, ${SERIAL_REQUESTS} requests per variant per round.`,
    '',
    ...costs,
    '',
  ].join('\n');
  await mkdir('bench/results', { recursive: true });
  await writeFile('bench/results/fleet.md', md);
  process.stdout.write(md);
}

main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error)?.stack ?? e}\n`);
  process.exit(1);
});
