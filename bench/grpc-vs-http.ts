import { mkdir, writeFile } from 'node:fs/promises';
import { startCli, startEmulator } from './calibrate/processes.js';
import { parseBenchArgs } from './cli.js';
import { renderJson } from './report/json.js';
import { renderMarkdown } from './report/markdown.js';
import { renderSvg } from './report/svg.js';
import { runBench } from './run.js';

/**
 * `npm run bench:grpc`: scorecar's gRPC Scorer beside its HTTP /v1/score, in one run, on the
 * same emulator profile (pruned-375m, summarized items; SIMULATED GPU): max items/s at p95 <=
 * 500 ms and scorecar's CPU per 1,000 items for each. Both send token ids; the score cache is off
 * so the second target gets no hits from the first.
 */
async function main(): Promise<void> {
  await mkdir('.bench-out', { recursive: true });
  const emu = await startEmulator(['--profile', 'pruned-375m']);
  const sc = await startCli(
    ['serve', '--host', '127.0.0.1', '--port', '0', '--grpc-port', '0', '--backend', emu.url, '--score-cache', 'off'],
    /gRPC Scorer API on (\S+)[\s\S]*HTTP API on (http:\/\/\S+)/,
  );
  try {
    const grpcAddr = /gRPC Scorer API on (\S+)/.exec(sc.output())?.[1] ?? '';
    const httpUrl = sc.url;
    const parsed = parseBenchArgs([
      '--target', `http-ids:ids=${httpUrl}`,
      '--target', `grpc:grpc=grpc://${grpcAddr}`,
      '--metrics-url', `${httpUrl}/metrics`,
      '--corpus', 'summarized', '--start-rps', '120', '--growth', '1.4', '--tolerance', '0.08',
      '--step-seconds', '4', '--warmup-seconds', '1', '--max-seconds', '200', '--simulated',
    ]);
    if (parsed === 'help') return;
    const report = await runBench(parsed.config, (l) => process.stderr.write(`  ${l}\n`));
    await writeFile('.bench-out/grpc-vs-http.json', renderJson(report));
    await writeFile('.bench-out/grpc-vs-http.svg', renderSvg(report));
    const rows = report.targets.map((t) => {
      const best = t.steps.filter((s) => s.pass).sort((a, b) => b.achievedRps - a.achievedRps)[0];
      const m = best?.scorecar && !('error' in best.scorecar) ? best.scorecar : null;
      return `| ${t.name} | ${t.bestItemsPerSecond?.toFixed(0) ?? '—'} | ${m?.cpuMicrosPerItem?.toFixed(1) ?? '—'} ms | ${m?.heapBytesPerItem?.toFixed(0) ?? '—'} B | ${m?.gcPauseMsPer10kItems?.toFixed(2) ?? '—'} ms |`;
    });
    const table = [
      '',
      '# gRPC vs HTTP through scorecar (emulator pruned-375m, summarized items: SIMULATED GPU)',
      '',
      '| target | max items/s at p95 <= 500 ms | scorecar CPU per 1,000 items | heap per item | GC per 10k items |',
      '|---|---|---|---|---|',
      ...rows,
      '',
    ].join('\n');
    await writeFile('.bench-out/grpc-vs-http.md', table + '\n' + renderMarkdown(report));
    process.stdout.write(table);
  } finally {
    await sc.stop();
    await emu.stop();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench:grpc: ${(e as Error).stack ?? e}\n`);
  process.exitCode = 1;
});
