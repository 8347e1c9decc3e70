import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { NODE_FLAGS } from '../../src/cli/node-flags.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DOCKER, ROOT, execForm, finalStage, healthcheckCommand, lastOf, parseDockerfile, stageEnv } from './support.js';

/**
 * The scorecar image's process, run here without Docker: the ENTRYPOINT + CMD and ENV read from
 * docker/scorecar.Dockerfile (not retyped), started from the repository root (which holds what
 * the image's /app holds: dist/, node_modules/, package.json). The image's `node` is this
 * machine's node. The only additions: a backend (SCORECAR_EMULATE, as `docker run -e` would
 * give), and free ports in place of the fixed ones, so that the test can run beside others.
 */
const stage = finalStage(parseDockerfile(join(DOCKER, 'scorecar.Dockerfile')));
const entry = execForm(lastOf(stage, 'ENTRYPOINT') as NonNullable<ReturnType<typeof lastOf>>);
const cmd = execForm(lastOf(stage, 'CMD') as NonNullable<ReturnType<typeof lastOf>>);
const imageEnv = stageEnv(stage);
const health = healthcheckCommand(stage);

/** The bound within which SIGTERM must end the process (an idle scorecar stops in well under 1 s). */
const EXIT_BOUND_MS = 10_000;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (a && typeof a === 'object' ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

/** Runs an exec-form command line as the image would: argv[0] `node` is this node. */
function spawnImageCommand(argv: string[], env: NodeJS.ProcessEnv): ChildProcess {
  const [program, ...args] = argv;
  const exe = program === 'node' ? process.execPath : (program as string);
  return spawn(exe, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
}

function exitOf(child: ChildProcess, timeoutMs: number): Promise<{ code: number | null; signal: NodeJS.Signals | null } | 'timeout'> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve('timeout'), timeoutMs);
    child.once('exit', (code, signal) => {
      clearTimeout(t);
      resolve({ code, signal });
    });
  });
}

async function runHealthcheck(env: NodeJS.ProcessEnv): Promise<number | null> {
  const hc = spawnImageCommand(health, env);
  const r = await exitOf(hc, 10_000);
  if (r === 'timeout') {
    hc.kill('SIGKILL');
    return null;
  }
  return r.code;
}

describe('scorecar image entry point, as a plain process', () => {
  let child: ChildProcess;
  let env: NodeJS.ProcessEnv;
  let out = '';
  let base = '';

  beforeAll(async () => {
    if (!existsSync(join(ROOT, 'dist', 'src', 'cli', 'main.js'))) throw new Error('dist/ is missing: run `npm run build` first');
    const port = await freePort();
    env = {
      PATH: process.env.PATH,
      ...imageEnv,
      SCORECAR_PORT: String(port),
      SCORECAR_GRPC_PORT: '0',
      SCORECAR_EMULATE: 'true',
      SCORECAR_EMULATOR_PORT: '0',
      SCORECAR_TOKENIZER_THREADS: '1',
    };
    base = `http://127.0.0.1:${port}`;
    child = spawnImageCommand([...entry, ...cmd], env);
    child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr?.on('data', (c: Buffer) => (out += c.toString()));
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`exited ${child.exitCode} before /health answered 200:\n${out}`);
      const status = await fetch(`${base}/health`).then(
        (r) => r.status,
        () => 0,
      );
      // Ready: /health is 200 and the start-up lines (written after the listeners open) are out.
      if (status === 200 && /HTTP API on/.test(out)) break;
      if (Date.now() > deadline) throw new Error(`/health never answered 200 (last ${status}):\n${out}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }, 90_000);

  afterAll(() => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });

  it('is `node <NODE_FLAGS> dist/src/cli/main.js serve`, configured by the image ENV (read from the Dockerfile)', async () => {
    expect([...entry, ...cmd]).toEqual(['node', ...NODE_FLAGS, 'dist/src/cli/main.js', 'serve']);
    expect(imageEnv.NODE_ENV).toBe('production');
    const cfg = (await (await fetch(`${base}/scorecar/config`)).json()) as { host: string; port: number; emulate: boolean };
    expect(cfg.host).toBe(imageEnv.SCORECAR_HOST);
    expect(cfg.host).toBe('0.0.0.0');
    expect(cfg.emulate).toBe(true);
  });

  it("the image's HEALTHCHECK command passes while it serves", async () => {
    expect(await runHealthcheck(env)).toBe(0);
  });

  // SIGTERM is what `docker stop` and Kubernetes send. A clean stop is exit status 0. If this
  // fails with a non-zero status or a timeout, the serve command's shutdown (src/cli/serve.ts)
  // is at fault, not the image: the deploy files rely on it.
  it(`exits 0 within ${EXIT_BOUND_MS / 1000} s of SIGTERM, and the HEALTHCHECK then fails`, async () => {
    child.kill('SIGTERM');
    const r = await exitOf(child, EXIT_BOUND_MS);
    expect(r, `output:\n${out}`).toEqual({ code: 0, signal: null });
    expect(out).toMatch(/shutting down/);
    expect(await runHealthcheck(env)).toBe(1);
  }, EXIT_BOUND_MS + 15_000);
});

/**
 * Drain: what `docker stop` and a rolling update rely on. A scoring call in flight when SIGTERM
 * arrives must still be answered before the process exits 0. The backend is a separate
 * `scorecar emulate` whose every answer takes SLOW_MS, so the call is surely in flight (seen in
 * scorecar_backend_inflight) when the signal is sent.
 * serve drains on SIGTERM: it stops accepting, lets calls in flight finish, then exits.
 */
const SLOW_MS = 1500;

describe('scorecar image entry point: SIGTERM with a scoring call in flight', () => {
  let emulator: ChildProcess | undefined;
  let child: ChildProcess;
  let out = '';
  let base = '';

  beforeAll(async () => {
    emulator = spawn(process.execPath, [join(ROOT, 'dist', 'src', 'cli', 'main.js'), 'emulate', '--port', '0', '--cost', `requestOverheadUs=${SLOW_MS * 1000}`], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH },
    });
    let emOut = '';
    const backend = await new Promise<string>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`emulator did not start:\n${emOut}`)), 60_000);
      emulator?.stdout?.on('data', (c: Buffer) => {
        emOut += c.toString();
        const m = /listening on (http:\/\/\S+)/.exec(emOut);
        if (m) {
          clearTimeout(t);
          resolve(m[1] as string);
        }
      });
      emulator?.once('exit', (code) => reject(new Error(`emulator exited ${code}:\n${emOut}`)));
    });
    const port = await freePort();
    const env = { PATH: process.env.PATH, ...imageEnv, SCORECAR_PORT: String(port), SCORECAR_GRPC_PORT: '0', SCORECAR_BACKEND: backend, SCORECAR_TOKENIZER_THREADS: '1' };
    child = spawnImageCommand([...entry, ...cmd], env);
    child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr?.on('data', (c: Buffer) => (out += c.toString()));
    base = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 60_000;
    for (;;) {
      const status = await fetch(`${base}/health`).then(
        (r) => r.status,
        () => 0,
      );
      if (status === 200) break;
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`never healthy:\n${out}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }, 90_000);

  afterAll(() => {
    for (const p of [child, emulator]) if (p && p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  });

  it('answers the call in flight at SIGTERM', async () => {
    const answer = fetch(`${base}/v1/score`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'drain', items: ['one', 'two'], label_token_ids: [9454, 2753], apply_softmax: true }),
    }).then(
      async (r) => ({ status: r.status, body: await r.text() }),
      (e: unknown) => ({ status: 0, body: String(e) }),
    );
    // SIGTERM once the call is at the backend, which holds it for SLOW_MS.
    for (let i = 0; ; i++) {
      const m = await (await fetch(`${base}/metrics`)).text();
      if (/^scorecar_backend_inflight\{[^}]*\} [1-9]/m.test(m)) break;
      if (i > 100) {
        child.kill('SIGTERM');
        throw new Error('setup: the scoring call never reached the backend');
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    child.kill('SIGTERM');
    const reply = await answer;
    expect(reply.status, reply.body).toBe(200);
  }, 30_000);

  it(`exits 0 within ${(SLOW_MS + EXIT_BOUND_MS) / 1000} s of that SIGTERM`, async () => {
    // The previous test sent SIGTERM; without it this times out.
    const r = await exitOf(child, SLOW_MS + EXIT_BOUND_MS);
    expect(r, `output:\n${out}`).toEqual({ code: 0, signal: null });
  }, 30_000);
});
