import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** What a user imports, resolved by Node through package.json "exports" (the built package). */
function resolveExports(code: string): string {
  return execFileSync(process.execPath, ['--input-type=module', '-e', code], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

describe('package exports', () => {
  it("serves the README's client import, scorecar/client", () => {
    const out = resolveExports(
      "const m = await import('scorecar/client'); console.log([typeof m.ScorerClient, typeof m.packTokenIds, typeof m.scoreRows].join(','))",
    );
    expect(out).toBe('function,function,function');
  });

  it('keeps internals private: deep dist paths are not importable', () => {
    expect(() => resolveExports("await import('scorecar/dist/src/client/index.js')")).toThrow(/ERR_PACKAGE_PATH_NOT_EXPORTED/);
  });
});
