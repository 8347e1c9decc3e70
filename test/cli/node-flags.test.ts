import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { NODE_FLAGS } from '../../src/cli/node-flags.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));

describe('node flags', () => {
  it('the scorecar bin and npm start carry NODE_FLAGS', () => {
    const shebang = readFileSync(BIN, 'utf8').split('\n')[0];
    expect(shebang).toBe(`#!/usr/bin/env -S node ${NODE_FLAGS.join(' ')}`);
    const pkg = JSON.parse(readFileSync(`${ROOT}/package.json`, 'utf8')) as { scripts: { start: string } };
    expect(pkg.scripts.start).toBe(`node ${NODE_FLAGS.join(' ')} dist/src/cli/main.js serve --emulate`);
  });

  it('the bin runs as an executable through its shebang', () => {
    expect(execFileSync(BIN, ['serve', '--help'], { encoding: 'utf8' })).toMatch(/^usage: scorecar serve/);
  });
});
