import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { ROOT } from './python.js';

/**
 * Suites that need the real CPU SGLang server that `npm test` (test/run-all.sh) starts once per
 * run and exports as SCORECAR_REAL_SGLANG_URL (by hand: `npm run sglang:cpu -- --port 30000`,
 * then SCORECAR_REAL_SGLANG_URL=http://127.0.0.1:30000 npx vitest run test/e2e/real-sglang).
 *
 * Without the server:
 *  - under CI=true the suite FAILS, unless a committed BLOCKED-sglang.md says why SGLang cannot
 *    serve here; then it is skipped with that file named in the test title and on stderr;
 *  - elsewhere it is skipped, the reason in the test title and on stderr.
 * No silent skip.
 */
export const REAL_SGLANG_URL = (process.env.SCORECAR_REAL_SGLANG_URL ?? '').replace(/\/+$/, '');

type Availability = { kind: 'up'; url: string } | { kind: 'skip'; why: string } | { kind: 'fail'; why: string };

export function realSglang(): Availability {
  if (REAL_SGLANG_URL !== '') return { kind: 'up', url: REAL_SGLANG_URL };
  const error = process.env.SCORECAR_REAL_SGLANG_ERROR;
  const why = error ? `the real SGLang server did not come up: ${error}` : 'SCORECAR_REAL_SGLANG_URL is not set (npm test starts the server; or run npm run sglang:cpu)';
  if (process.env.CI === 'true') {
    return existsSync(join(ROOT, 'BLOCKED-sglang.md'))
      ? { kind: 'skip', why: `BLOCKED: see BLOCKED-sglang.md (${why})` }
      : { kind: 'fail', why: `CI=true and ${why}; commit BLOCKED-sglang.md if SGLang truly cannot serve here` };
  }
  return { kind: 'skip', why };
}

/** describe() for a suite against the real server: runs, fails or skips loudly as above. */
export function describeRealSglang(title: string, body: (url: string) => void): void {
  const a = realSglang();
  if (a.kind === 'up') {
    describe(title, () => body(a.url));
  } else if (a.kind === 'fail') {
    describe(title, () => {
      it('needs the real SGLang server', () => {
        throw new Error(a.why);
      });
    });
  } else {
    process.stderr.write(`\n*** SKIPPED "${title}": ${a.why}\n`);
    describe.skip(`${title} [SKIPPED: ${a.why}]`, () => body(''));
  }
}
