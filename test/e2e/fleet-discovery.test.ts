import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../../src/emulator/server.js';
import type { RunningSidecar } from '../../src/sidecar.js';
import { emulator, failures, load, scoreCalls, sidecar, until } from './fleet-harness.js';

/**
 * Backends added and removed at run time, under load: through DNS (an injected resolver, as a
 * headless Service's answer changes) and through the watched backend file. Added ones take
 * calls once probed; removed ones finish what they have in flight, get nothing new, and close.
 */
let open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const o of open.reverse()) await o.close().catch(() => {});
  open = [];
});
const dir = mkdtempSync(join(tmpdir(), 'scorecar-fleet-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const has = (sc: RunningSidecar, e: RunningEmulator): boolean => sc.backends.backends.some((b) => b.url === e.url);

async function addThenRemove(sc: RunningSidecar, emus: RunningEmulator[], add: () => void, remove: () => void): Promise<void> {
  const [a, , c] = emus as [RunningEmulator, RunningEmulator, RunningEmulator];
  // Calls to the one removed later take a while, so some are in flight when it goes.
  a.context.faults.update({ extraLatencyMs: 50 });
  const run = load(sc.url, 4);
  try {
    await until(() => run.answers.length >= 50, 20_000, '50 answers');
    expect(scoreCalls(c)).toBe(0);
    add();
    await until(() => scoreCalls(c) >= 20, 20_000, 'the added backend taking calls');
    await until(() => scoreCalls(a) > 0, 20_000, 'the slow backend taking calls');
    remove();
    await until(() => !has(sc, a), 20_000, 'the removed backend drained and closed');
    const after = scoreCalls(a);
    const mark = run.answers.length;
    await until(() => run.answers.length >= mark + 100, 20_000, '100 answers after the removal');
    expect(scoreCalls(a)).toBe(after);
  } finally {
    const answers = await run.stop();
    expect(failures(answers)).toEqual([]);
  }
}

describe('fleet discovery under load', () => {
  it('a DNS answer that gains and then loses an address adds and drains a backend: no failed request', async () => {
    const a = await emulator({ host: '127.0.0.1' });
    open.push(a);
    const b = await emulator({ host: '127.0.0.2', port: a.port });
    const c = await emulator({ host: '127.0.0.3', port: a.port });
    open.push(b, c);
    let answer = ['127.0.0.1', '127.0.0.2'];
    const resolved: string[] = [];
    const sc = await sidecar(['--backend-dns', `sglang.test:${a.port}`, '--discovery-interval-ms', '100'], (host) => {
      resolved.push(host);
      return Promise.resolve(answer);
    });
    open.push(sc);
    expect(resolved[0]).toBe('sglang.test');
    await addThenRemove(
      sc,
      [a, b, c],
      () => (answer = ['127.0.0.1', '127.0.0.2', '127.0.0.3']),
      () => (answer = ['127.0.0.2', '127.0.0.3']),
    );
  }, 120_000);

  it('an edit of the backend file adds and drains a backend: no failed request', async () => {
    const emus: RunningEmulator[] = [];
    for (let i = 0; i < 3; i++) emus.push(await emulator());
    open.push(...emus);
    const [a, b, c] = emus as [RunningEmulator, RunningEmulator, RunningEmulator];
    const file = join(dir, 'backends.txt');
    const write = (urls: string[]): void => {
      // Replaced by a rename, as editors and Kubernetes ConfigMaps do.
      writeFileSync(`${file}.tmp`, `# fleet\n${urls.join('\n')}\n`);
      renameSync(`${file}.tmp`, file);
    };
    write([a.url, b.url]);
    const sc = await sidecar(['--backend-file', file, '--discovery-interval-ms', '5000']);
    open.push(sc);
    // Only the watch can notice the edits within the test's waits: the interval is 5 s.
    await addThenRemove(
      sc,
      emus,
      () => write([a.url, b.url, c.url]),
      () => write([b.url, c.url]),
    );
  }, 120_000);
});
