import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

let resolved: string | undefined;

/**
 * The project's one Python: the venv built by patches/env/venv.sh (outside the clone, keyed by
 * the requirements' hash). `npm test` resolves it once and exports SCORECAR_PYTHON; a test file
 * run on its own asks venv.sh, which builds the venv when it is missing (minutes, once).
 */
export function venvPython(): string {
  if (resolved !== undefined) return resolved;
  const fromEnv = process.env.SCORECAR_PYTHON;
  if (fromEnv !== undefined && fromEnv !== '') {
    if (!existsSync(fromEnv)) throw new Error(`SCORECAR_PYTHON=${fromEnv} does not exist`);
    resolved = fromEnv;
    return fromEnv;
  }
  const venv = execFileSync('bash', [join(ROOT, 'patches/env/venv.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
  const python = join(venv, 'bin', 'python');
  if (!existsSync(python)) throw new Error(`patches/env/venv.sh printed ${venv}, which has no bin/python`);
  resolved = python;
  return python;
}

/** The tiny Qwen3 folder the real CPU server loads (patches/cpu/model.sh builds it when missing). */
export function tinyModelDir(): string {
  const fromEnv = process.env.SCORECAR_TINY_MODEL;
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  return execFileSync('bash', [join(ROOT, 'patches/cpu/model.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
}
