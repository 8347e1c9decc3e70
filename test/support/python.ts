import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
let cached: string | null = null;

/**
 * The project venv's python (patches/env/venv.sh builds it when missing). `npm test` exports it
 * as SCORECAR_PYTHON; a vitest run on its own finds it the same way.
 */
export function venvPython(): string {
  if (process.env.SCORECAR_PYTHON) return process.env.SCORECAR_PYTHON;
  if (cached === null) {
    const venv = execFileSync('bash', ['patches/env/venv.sh'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
    cached = `${venv}/bin/python`;
  }
  return cached;
}

/**
 * The real CPU SGLang server `npm test` starts for the run (SCORECAR_REAL_SGLANG_URL), or null.
 * Under CI a suite that needs it fails when it is missing, unless BLOCKED-sglang.md says why
 * it cannot run here.
 */
export function realSglangUrl(): string | null {
  return process.env.SCORECAR_REAL_SGLANG_URL ?? null;
}
