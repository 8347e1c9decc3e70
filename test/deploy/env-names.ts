import { SERVE_OPTIONS } from '../../src/config/serve-config.js';

/** The env var `serve` reads for a flag (src/config/options.ts: SCORECAR_<FLAG>). */
export function envNameOf(flag: string): string {
  return `SCORECAR_${flag.replace(/-/g, '_').toUpperCase()}`;
}

/**
 * Options the deploy files set before `serve` has them (work landing beside the deploy files).
 * Empty now: --cache-key-secret and --backend-dns both exist.
 */
export const PENDING_SERVE_ENV: Readonly<Record<string, string>> = {};

const KNOWN = new Set(Object.keys(SERVE_OPTIONS).map(envNameOf));

/** SCORECAR_* names that `serve` would silently ignore (a typo, or a flag that does not exist). */
export function scorecarEnvProblems(names: Iterable<string>): string[] {
  const out: string[] = [];
  for (const n of names) {
    if (!n.startsWith('SCORECAR_')) continue;
    if (!KNOWN.has(n) && !(n in PENDING_SERVE_ENV)) out.push(`${n} is not an option of scorecar serve`);
  }
  return out;
}
