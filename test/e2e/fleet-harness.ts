import { request } from 'undici';
import type { Resolver } from '../../src/backend/discovery.js';
import { parseServeConfig } from '../../src/config/serve-config.js';
import { type EmulatorOptions } from '../../src/emulator/options.js';
import { type RunningEmulator, startEmulator } from '../../src/emulator/server.js';
import { type RunningSidecar, startSidecar } from '../../src/sidecar.js';

/**
 * In-process fleets for the fault tests: emulators and one scorecar in the test's own process,
 * so a test can flip an emulator's fault knobs, close it, or feed scorecar a DNS answer.
 */

export async function emulator(o: Partial<EmulatorOptions> = {}): Promise<RunningEmulator> {
  return startEmulator({ port: 0, tokenizerThreads: 1, ...o });
}

/** Scoring calls an emulator has received so far. */
export function scoreCalls(e: RunningEmulator): number {
  return e.context.requestsByPath.get('/v1/score') ?? 0;
}

export async function sidecar(args: string[], resolver?: Resolver): Promise<RunningSidecar> {
  // --score-cache off: every request must reach a backend for the shares to mean anything.
  const cfg = parseServeConfig(
    ['--host', '127.0.0.1', '--port', '0', '--grpc-port', '0', '--tokenizer-threads', '1', '--score-cache', 'off', '--health-interval-ms', '100', ...args],
    {},
  );
  return startSidecar(cfg, resolver === undefined ? {} : { resolver });
}

let seq = 0;
/** An ids request (no tokenizing): distinct query ids so nothing is served from a cache. */
export function body(model?: string): string {
  const n = seq++;
  return JSON.stringify({
    query: [1, 2, 3, 100 + (n % 5000)],
    items: [[4, 5], [6, 7, 8]],
    label_token_ids: [9693, 2152],
    ...(model === undefined ? {} : { model }),
  });
}

export interface Answer {
  status: number;
  ms: number;
  retryAfter: string | undefined;
  text: string;
}

export async function score(url: string, b = body()): Promise<Answer> {
  const t0 = performance.now();
  try {
    const r = await request(`${url}/v1/score`, { method: 'POST', body: b, headers: { 'content-type': 'application/json' } });
    const text = await r.body.text();
    const ra = r.headers['retry-after'];
    return { status: r.statusCode, ms: performance.now() - t0, retryAfter: typeof ra === 'string' ? ra : undefined, text };
  } catch (e) {
    return { status: -1, ms: performance.now() - t0, retryAfter: undefined, text: String((e as Error)?.message ?? e) };
  }
}

/** Closed-loop load: `workers` clients each sending one request after another until stop(). */
export function load(url: string, workers: number): { answers: Answer[]; stop(): Promise<Answer[]> } {
  const answers: Answer[] = [];
  let running = true;
  const loops = Array.from({ length: workers }, async () => {
    while (running) answers.push(await score(url));
  });
  return {
    answers,
    async stop() {
      running = false;
      await Promise.all(loops);
      return answers;
    },
  };
}

export async function until(check: () => boolean | Promise<boolean>, timeoutMs = 15_000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`${what} not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function p95(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * 0.95))] ?? NaN;
}

/** Statuses other than 200, with a sample of their bodies, for a readable failure. */
export function failures(answers: readonly Answer[]): string[] {
  return answers.filter((a) => a.status !== 200).map((a) => `${a.status}: ${a.text.slice(0, 200)}`);
}
