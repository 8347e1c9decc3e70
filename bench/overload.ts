import { mkdir, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { startEmulator, startScorecar } from './calibrate/processes.js';
import { measureCapacity, quantile, runOpenLoop } from './loadgen/overload.js';
import { describeCpus, machineInfo } from './report/machine.js';

/**
 * `npm run bench:overload` (issue 13): goodput under overload. An emulator whose cost is one
 * token-bound GPU (EMULATOR_COST: 20 us per prompt token, nothing per step) serves ids requests of
 * 400 prompt tokens; its capacity is measured straight (closed loop), then scorecar with its
 * default limits (SLO 500 ms: queue-time bound 250 ms, adaptive in-flight budget aiming at 250 ms
 * of backend latency) takes open-loop Poisson-free (evenly spaced) arrivals at 1x, 1.5x and 2x
 * that capacity. Reported: answered and shed counts, accepted p50/p95/p99, time to a 429, and
 * scorecar's RSS. SIMULATED GPU; scorecar is real.
 */
const SLO_MS = 500;
const SECONDS = Number(process.env.OVERLOAD_SECONDS ?? 20);
const EMULATOR_COST = ['--cost', 'perTokenUs=20', '--cost', 'stepLaunchUs=0', '--cost', 'requestOverheadUs=0'];
const BODY = Buffer.from(
  JSON.stringify({
    query: Array.from({ length: 30 }, (_, i) => 1000 + i),
    items: Array.from({ length: 8 }, (_, k) => Array.from({ length: 20 }, (_, i) => 2000 + 20 * k + i)),
    label_token_ids: [9693, 2152],
  }),
);

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

async function main(): Promise<void> {
  const emu = await startEmulator(EMULATOR_COST);
  const sc = await startScorecar(emu.url, ['--score-cache', 'off', '--tokenizer-threads', '1']);
  try {
    const capacity = await measureCapacity(emu.url, '/v1/score', BODY, 32, 5);
    process.stderr.write(`emulator capacity: ${capacity.toFixed(1)} requests/s\n`);
    await runOpenLoop({ url: sc.url, path: '/v1/score', body: BODY, rps: capacity / 2, seconds: 3, timeoutMs: 10_000, connections: 256 });
    const pid = sc.child.pid as number;
    const rows: string[] = [];
    const json: unknown[] = [];
    for (const mult of [1, 1.5, 2]) {
      let peak = rssMb(pid);
      const sampler = setInterval(() => (peak = Math.max(peak, rssMb(pid))), 200);
      const r = await runOpenLoop({ url: sc.url, path: '/v1/score', body: BODY, rps: capacity * mult, seconds: SECONDS, timeoutMs: 10_000, connections: 512 });
      clearInterval(sampler);
      const ok = r.byStatus[200] ?? 0;
      const shed = r.byStatus[429] ?? 0;
      const other = Object.entries(r.byStatus).filter(([s]) => s !== '200' && s !== '429').map(([s, n]) => `${s}: ${n}`).join(', ');
      const p = (q: number): string => quantile(r.acceptedMs, q).toFixed(0);
      rows.push(
        `| ${mult}x (${(capacity * mult).toFixed(0)}/s) | ${r.sent} | ${ok} | ${shed} | ${other || '—'} | ${r.timeouts + r.transportErrors} | ${p(0.5)} | ${p(0.95)} | ${p(0.99)} | ${quantile(r.shedMs, 0.5).toFixed(1)} / ${quantile(r.shedMs, 0.95).toFixed(1)} | ${(ok / SECONDS).toFixed(0)} | ${peak.toFixed(0)} |`,
      );
      json.push({ mult, rps: capacity * mult, ...r, acceptedMs: undefined, shedMs: undefined, p50: quantile(r.acceptedMs, 0.5), p95: quantile(r.acceptedMs, 0.95), p99: quantile(r.acceptedMs, 0.99), shedP50: quantile(r.shedMs, 0.5), shedP95: quantile(r.shedMs, 0.95), peakRssMb: peak });
      process.stderr.write(`${rows[rows.length - 1]}\n`);
    }
    const m = machineInfo();
    const md = [
      '# Goodput under overload (`npm run bench:overload`)',
      '',
      `SIMULATED GPU (the emulator, ${EMULATOR_COST.filter((x) => x !== '--cost').join(', ')}); scorecar is real, with its default limits`,
      `(assumed SLO ${SLO_MS} ms: queue-time bound ${SLO_MS / 2} ms, adaptive in-flight budget aiming at ${SLO_MS / 2} ms of backend latency), score cache off.`,
      `Requests: ids, a 30-token query and 8 items of 20 tokens (400 prompt tokens in single-item mode). Emulator capacity measured`,
      `straight with 32 closed-loop clients: **${capacity.toFixed(1)} requests/s**. Each row: ${SECONDS} s of evenly spaced open-loop arrivals.`,
      `Goal: accepted p95 <= ${1.5 * SLO_MS} ms at 2x; what cannot be served in time gets 429 + Retry-After at once.`,
      '',
      '| load | sent | 200 | 429 | other | no answer | accepted p50 ms | p95 ms | p99 ms | time to 429 p50 / p95 ms | goodput /s | peak RSS MB |',
      '|---|--:|--:|--:|---|--:|--:|--:|--:|--:|--:|--:|',
      ...rows,
      '',
      `Machine: ${m.hostname}, ${describeCpus(m)}, Node ${m.node}; ${new Date().toISOString()}. One run; numbers move with the machine's other load.`,
      '',
    ].join('\n');
    await mkdir('bench/results', { recursive: true });
    await writeFile('bench/results/overload.md', md);
    await mkdir('.bench-out', { recursive: true });
    await writeFile('.bench-out/overload.json', `${JSON.stringify({ capacity, runs: json }, null, 2)}\n`);
    process.stdout.write(md);
  } finally {
    await sc.stop();
    await emu.stop();
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
