import { parseBenchArgs } from '../cli.js';
import { runBench } from '../run.js';
import { startEmulator } from './processes.js';
import { TABLE7 } from './table7.js';

/**
 * `npm run bench:calibrate`: benchmarks the real emulator over HTTP (direct, text prompts, 10-item
 * requests, p95 <= 500 ms) for each Table 7 case and prints the paper's figure beside the
 * emulator's. Exits 1 when any figure is off by more than 15%. Results are simulated.
 */
const TOLERANCE = 0.15;

async function main(): Promise<number> {
  const rows: string[] = [];
  let failed = 0;
  for (const c of TABLE7) {
    const emu = await startEmulator(['--profile', c.profile]);
    try {
      const parsed = parseBenchArgs([
        '--target', `direct:text=${emu.url}`,
        '--corpus', c.corpus,
        '--jobs', '300', '--queries', '100',
        '--start-rps', String(Math.max(2, Math.round(c.itemsPerSecond / 10 / 3))),
        '--growth', '1.6', '--tolerance', '0.06',
        '--step-seconds', '6', '--warmup-seconds', '1.5',
        '--max-seconds', '75', '--prewarm', '--simulated',
      ]);
      if (parsed === 'help') return 2;
      const report = await runBench(parsed.config, (l) => process.stderr.write(`  ${l}\n`));
      const got = report.targets[0]?.bestItemsPerSecond ?? 0;
      const err = (got - c.itemsPerSecond) / c.itemsPerSecond;
      const ok = Math.abs(err) <= TOLERANCE;
      if (!ok) failed++;
      rows.push(`| ${c.label} | ${c.itemsPerSecond} | ${got.toFixed(0)} | ${(err * 100).toFixed(1)}% | ${ok ? 'ok' : 'OUT OF RANGE'} |`);
    } finally {
      await emu.stop();
    }
  }
  process.stdout.write(
    ['', 'Emulator calibration against the paper\'s Table 7 (SIMULATED: emulator, not a GPU)', '',
      '| case | Table 7 items/s | emulator items/s | error | within ±15% |', '|---|---|---|---|---|', ...rows, ''].join('\n'),
  );
  return failed === 0 ? 0 : 1;
}

main().then((code) => (process.exitCode = code), (e: unknown) => {
  process.stderr.write(`bench:calibrate: ${(e as Error).stack ?? e}\n`);
  process.exitCode = 1;
});
