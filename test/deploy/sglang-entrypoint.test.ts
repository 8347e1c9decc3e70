import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DOCKER, findTool, run } from './support.js';

/**
 * docker/sglang-entrypoint.sh, the SGLang image's entry point: linted with shellcheck and run
 * with a stand-in `python3` first on PATH that prints the argv it was given, so the flags that
 * reach `python3 -m scorecar_sglang.launch` are checked without SGLang or a GPU.
 */
const SCRIPT = join(DOCKER, 'sglang-entrypoint.sh');
const SHELLCHECK = findTool('shellcheck', 'SHELLCHECK');
const bin = mkdtempSync(join(tmpdir(), 'scorecar-sglang-ep-'));
writeFileSync(join(bin, 'python3'), '#!/bin/sh\nfor a in "$@"; do printf "%s\\n" "$a"; done\n');
chmodSync(join(bin, 'python3'), 0o755);

function launch(env: Record<string, string>, args: string[] = []): { status: number; argv: string[]; output: string } {
  const r = run('/bin/sh', [SCRIPT, ...args], { env: { PATH: `${bin}:/usr/bin:/bin`, ...env } });
  return { status: r.status, argv: r.output.split('\n').filter((l) => l !== ''), output: r.output };
}

describe('docker/sglang-entrypoint.sh', () => {
  afterAll(() => rmSync(bin, { recursive: true, force: true }));

  it('shellcheck is installed (Debian: apt-get install shellcheck; test/run-all.sh does it)', () => {
    expect(SHELLCHECK, 'shellcheck not found on PATH (or $SHELLCHECK)').not.toBeNull();
  });

  it.runIf(SHELLCHECK !== null)('passes shellcheck', () => {
    const r = run(SHELLCHECK as string, ['--shell=sh', SCRIPT]);
    expect(r.output).toBe('');
    expect(r.status).toBe(0);
  });

  it('execs the launcher with the model from env and the flags the patches require', () => {
    const r = launch({ SGLANG_MODEL_PATH: '/models/qwen3' });
    expect(r.status).toBe(0);
    expect(r.argv.slice(0, 2)).toEqual(['-m', 'scorecar_sglang.launch']);
    const flags = r.argv.slice(2).join(' ');
    expect(flags).toContain('--model-path /models/qwen3');
    expect(flags).toContain('--host 0.0.0.0 --port 30000');
    expect(flags).toContain('--tp-size 1');
    expect(flags).toContain('--disable-radix-cache');
    expect(flags).toContain('--chunked-prefill-size -1');
    expect(flags).not.toContain('--api-key');
    expect(flags).not.toContain('--served-model-name');
  });

  it('adds optional flags only when their variable is set, keeps values with spaces whole, and appends container arguments', () => {
    const r = launch({ SGLANG_MODEL_PATH: 'Qwen/Qwen3-0.6B', SGLANG_DP_SIZE: '4', SGLANG_PORT: '31000', SGLANG_SERVED_MODEL_NAME: 'my model', SGLANG_API_KEY: 'k' }, ['--log-level', 'info']);
    expect(r.status).toBe(0);
    const i = r.argv.indexOf('--served-model-name');
    expect(r.argv[i + 1]).toBe('my model');
    expect(r.argv[r.argv.indexOf('--dp-size') + 1]).toBe('4');
    expect(r.argv[r.argv.indexOf('--port') + 1]).toBe('31000');
    expect(r.argv[r.argv.indexOf('--api-key') + 1]).toBe('k');
    expect(r.argv.slice(-2)).toEqual(['--log-level', 'info']);
  });

  it('refuses to start without SGLANG_MODEL_PATH', () => {
    const r = launch({});
    expect(r.status).not.toBe(0);
    expect(r.output).toMatch(/SGLANG_MODEL_PATH/);
  });
});
