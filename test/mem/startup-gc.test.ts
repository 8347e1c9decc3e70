import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The built module (the test command builds first, as for every spawned process).
const MODULE = fileURLToPath(new URL('../../dist/src/mem/startup-gc.js', import.meta.url));

describe('collectStartupGarbage', () => {
  it('runs one full collection that frees what start-up left, and leaves no global gc behind', () => {
    // In a process of its own: a full collection in vitest's worker would measure the runner too.
    const script = `
      import v8 from 'node:v8';
      const { collectStartupGarbage } = await import(${JSON.stringify(MODULE)});
      let junk = Array.from({ length: 200000 }, (_, i) => ({ i, s: 'x' + i }));
      // Old enough to be promoted: a few scavenges pass while it is alive.
      for (let k = 0; k < 20; k++) new Array(100000).fill(k);
      junk = null;
      const profiler = new v8.GCProfiler();
      profiler.start();
      const before = v8.getHeapStatistics().used_heap_size;
      const ran = collectStartupGarbage();
      const after = v8.getHeapStatistics().used_heap_size;
      const kinds = profiler.stop().statistics.map((s) => s.gcType);
      process.stdout.write(JSON.stringify({ ran, freed: before - after, kinds, gc: typeof globalThis.gc }));
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(r.stderr);
    const out = JSON.parse(r.stdout) as { ran: boolean; freed: number; kinds: string[]; gc: string };
    expect(out.ran).toBe(true);
    expect(out.kinds).toContain('MarkSweepCompact');
    expect(out.freed).toBeGreaterThan(5_000_000);
    expect(out.gc).toBe('undefined');
    // Started with --expose-gc, the process keeps its global gc (and the flag) as it was given.
    const given = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', `const m = await import(${JSON.stringify(MODULE)}); const ran = m.collectStartupGarbage(); process.stdout.write(String(ran) + ' ' + typeof globalThis.gc + ' ' + (await import('node:vm')).runInNewContext('typeof gc'))`], { encoding: 'utf8' });
    expect(given.stdout).toBe('true function function');
  });
});
