import { spawn } from 'node:child_process';
import { type Server, createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { type Proc, REJECTION_HOOK, REJECTION_MARK, call, startEmulator, startScorecar } from './harness.js';

/**
 * The process lifecycle of `scorecar serve`: a failed bind prints one clear line, closes what it
 * started (the process then ends by itself, nothing left holding it) and exits non-zero; SIGTERM
 * drains (503 on /health and new requests, requests in flight answered) and exits 0 within the
 * drain bound; a second signal exits at once.
 */
const MAIN = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));
const procs: Proc[] = [];
afterAll(async () => {
  for (const p of procs.reverse()) await p.stop();
});

function run(args: string[], timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const started = performance.now();
  const child = spawn(process.execPath, ['--import', REJECTION_HOOK, MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`did not exit within ${timeoutMs} ms: ${stdout}${stderr}`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: performance.now() - started });
    });
  });
}

function occupy(): Promise<{ server: Server; port: number }> {
  const server = createServer();
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as { port: number }).port })));
}

async function refusesConnections(url: string): Promise<boolean> {
  try {
    await request(url + '/health', { headersTimeout: 1000 });
    return false;
  } catch {
    return true;
  }
}

describe('a port that is taken', () => {
  it('prints one line, stops the embedded emulator and everything else, and exits 1 by itself', async () => {
    const taken = await occupy();
    try {
      const r = await run(['serve', '--emulate', '--emulator-port', '0', '--host', '127.0.0.1', '--port', String(taken.port), '--grpc-port', '0', '--tokenizer-threads', '1'], 60_000);
      expect(r.code).toBe(1);
      const errLines = r.stderr.split('\n').filter((l) => l.trim() !== '');
      expect(errLines).toEqual([`scorecar: cannot start: HTTP port ${taken.port} on 127.0.0.1 is already in use (scorecar --port; 0 picks a free port)`]);
      expect(r.stdout + r.stderr).not.toMatch(/\n\s+at /); // no stack trace
      // The emulator it had started is gone too.
      const emu = /listening on (http:\/\/\S+)/.exec(r.stdout)?.[1];
      expect(emu).toBeDefined();
      expect(await refusesConnections(emu as string)).toBe(true);
    } finally {
      taken.server.close();
    }
  });

  it('does the same for a taken gRPC port', async () => {
    const emulator = await startEmulator();
    procs.push(emulator);
    const taken = await occupy();
    try {
      const r = await run(['serve', '--backend', emulator.url, '--host', '127.0.0.1', '--port', '0', '--grpc-port', String(taken.port), '--tokenizer-threads', '1'], 60_000);
      expect(r.code).toBe(1);
      expect(r.stderr.trim()).toMatch(new RegExp(`^scorecar: cannot start: gRPC port ${taken.port} on 127\\.0\\.0\\.1 is already in use \\(scorecar --grpc-port; 0 picks a free port\\)$`));
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    } finally {
      taken.server.close();
    }
  });
});

describe('SIGTERM', () => {
  it('drains under load: /health 503, new work refused, every accepted request answered 200, exit 0 in the bound', async () => {
    const emulator = await startEmulator();
    procs.push(emulator);
    // Every backend call takes 400 ms, so requests are in flight when the signal comes.
    expect((await call(emulator.url + '/emulator/faults', 'POST', JSON.stringify({ extraLatencyMs: 400 }))).status).toBe(200);
    const DRAIN_MS = 5000;
    const sc = await startScorecar([emulator.url], ['--drain-timeout-ms', String(DRAIN_MS), '--score-cache', 'off']);
    procs.push(sc);
    const exited = new Promise<{ code: number | null; at: number }>((resolve) => sc.child.once('exit', (code) => resolve({ code, at: performance.now() })));
    const body = JSON.stringify({ query: [1, 2, 3], items: [[4, 5], [6]], label_token_ids: [9693, 2152] });
    const outcomes: Array<{ startedAt: number; status: number | 'transport'; text: string }> = [];
    const one = async (): Promise<void> => {
      const startedAt = performance.now();
      try {
        const r = await call(sc.url + '/v1/score', 'POST', body);
        outcomes.push({ startedAt, status: r.status, text: r.text });
      } catch {
        outcomes.push({ startedAt, status: 'transport', text: '' });
      }
    };
    const load: Promise<void>[] = [];
    const sender = setInterval(() => load.push(one()), 20);
    await new Promise((r) => setTimeout(r, 600));
    const signalledAt = performance.now();
    sc.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 150));
    const health = await call(sc.url + '/health', 'GET').catch(() => null);
    await new Promise((r) => setTimeout(r, 300));
    clearInterval(sender);
    await Promise.all(load);
    const { code, at } = await exited;
    expect(code).toBe(0);
    expect(at - signalledAt).toBeLessThan(DRAIN_MS + 5000);
    if (health !== null) expect(health.status).toBe(503);
    // Requests sent well before the signal were accepted: all answered 200.
    const early = outcomes.filter((o) => o.startedAt < signalledAt - 100);
    expect(early.length).toBeGreaterThan(10);
    for (const o of early) expect(o.status, o.text).toBe(200);
    // Anything else was either answered 200 or refused as new work (503 draining / no connection).
    for (const o of outcomes) {
      if (o.status === 200 || o.status === 'transport') continue;
      expect(o.status).toBe(503);
      expect(o.text).toMatch(/draining/);
    }
    expect(sc.output()).toMatch(/SIGTERM: draining/);
    expect(sc.output()).not.toContain(REJECTION_MARK);
  });

  it('exits at once on a second signal', async () => {
    const emulator = await startEmulator();
    procs.push(emulator);
    expect((await call(emulator.url + '/emulator/faults', 'POST', JSON.stringify({ extraLatencyMs: 20_000 }))).status).toBe(200);
    const sc = await startScorecar([emulator.url], ['--drain-timeout-ms', '60000', '--score-cache', 'off']);
    procs.push(sc);
    const exited = new Promise<{ code: number | null; at: number }>((resolve) => sc.child.once('exit', (code) => resolve({ code, at: performance.now() })));
    const slow = call(sc.url + '/v1/score', 'POST', JSON.stringify({ query: [1], items: [[2]], label_token_ids: [9693] })).catch(() => null);
    await new Promise((r) => setTimeout(r, 300));
    sc.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    const second = performance.now();
    sc.child.kill('SIGTERM');
    const { code, at } = await exited;
    expect(code).toBe(1);
    expect(at - second).toBeLessThan(3000);
    await slow;
  });
});
