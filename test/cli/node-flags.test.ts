import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { NODE_FLAGS } from '../../src/cli/node-flags.js';

/**
 * scorecar's node flags (src/cli/node-flags.ts) go on every launcher, or a sidecar started one way
 * would collect garbage differently from one started another. The image's ENTRYPOINT and the
 * harnesses are checked where they are used (test/deploy, test/e2e/harness.ts); these are the rest.
 */
const root = new URL('../../', import.meta.url);
const read = (path: string): string => readFileSync(new URL(path, root), 'utf8');

describe('node flags', () => {
  it('are on the bin: the shebang of src/cli/main.ts (kept by tsc in dist/)', () => {
    const line = read('src/cli/main.ts').split('\n')[0];
    expect(line).toBe(`#!/usr/bin/env -S node ${NODE_FLAGS.join(' ')}`);
  });

  it('are on `npm start`', () => {
    const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
    expect(pkg.scripts.start).toBe(`node ${NODE_FLAGS.join(' ')} dist/src/cli/main.js serve --emulate`);
  });

  it('turn off the memory reducer, which this node has and runs by default', () => {
    expect(NODE_FLAGS).toContain('--no-memory-reducer');
    const r = spawnSync(process.execPath, ['--v8-options'], { encoding: 'utf8' });
    expect(r.stdout).toMatch(/--memory-reducer \(use memory reducer\)\n\s+type: bool\s+default: --memory-reducer\b/);
  });

  it('are flags this node accepts, and set the young generation they say', () => {
    // With the flag, new space starts at two 16 MiB halves; without it, at V8's 1 MiB minimum.
    const size = (flags: readonly string[]): number => {
      const r = spawnSync(process.execPath, [...flags, '-e', "process.stdout.write(String(require('v8').getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size))"], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(r.stderr);
      return Number(r.stdout);
    };
    const flagged = size(NODE_FLAGS);
    expect(flagged).toBeGreaterThanOrEqual(16 * 1024 * 1024);
    expect(size([])).toBeLessThan(flagged);
  });
});
