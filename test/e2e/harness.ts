import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { NODE_FLAGS } from '../../src/cli/node-flags.js';

/** Real processes on loopback: the built CLI, as a user would run it. */
const MAIN = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));

export interface Proc {
  url: string;
  child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/**
 * A preload for spawned processes that records every promise rejection nobody handled, as a
 * line the tests look for: scorecar must never leave one (an unhandled rejection can end Node).
 */
export const REJECTION_HOOK = fileURLToPath(new URL('../support/rejection-hook.mjs', import.meta.url));
export const REJECTION_MARK = 'UNHANDLED_REJECTION_RECORDED';

export async function spawnCli(args: string[], ready: RegExp, timeoutMs = 60_000, env: NodeJS.ProcessEnv = {}): Promise<Proc> {
  const child = spawn(process.execPath, [...NODE_FLAGS, '--import', REJECTION_HOOK, MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let out = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timeout waiting for ${ready}: ${out}`)), timeoutMs);
    const onData = (c: Buffer): void => {
      out += c.toString();
      const m = ready.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1] as string);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (c: Buffer) => (out += c.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited ${code} before ready: ${out}`));
    });
  });
  child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  return {
    url,
    child,
    output: () => out,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 5000).unref();
      }),
  };
}

export function startEmulator(args: string[] = []): Promise<Proc> {
  return spawnCli(['emulate', '--port', '0', ...args], /listening on (http:\/\/\S+)/);
}

export function startScorecar(backends: string[], args: string[] = []): Promise<Proc> {
  const b = backends.flatMap((u) => ['--backend', u]);
  // --grpc-port 0: several scorecars may run at once, so none may hold the default gRPC port.
  return spawnCli(['serve', '--host', '127.0.0.1', '--port', '0', '--grpc-port', '0', '--tokenizer-threads', '2', ...b, ...args], /HTTP API on (http:\/\/\S+)/);
}

/** Resident set size of a process, bytes (Linux /proc). */
export function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) * 1024;
}

/** A scorecar whose gRPC address (host:port, logged before the HTTP line) is known too. */
export async function startScorecarWithGrpc(backends: string[], args: string[] = []): Promise<Proc & { grpc: string }> {
  const p = await startScorecar(backends, args);
  const m = /gRPC Scorer API on (\S+)/.exec(p.output());
  if (!m) {
    await p.stop();
    throw new Error(`no gRPC address in the output: ${p.output()}`);
  }
  return Object.assign(p, { grpc: m[1] as string });
}

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  bytes: Buffer;
}

export async function call(url: string, method: string, body?: string | Buffer, headers: Record<string, string> = {}): Promise<Reply> {
  const r = await request(url, {
    method: method as 'GET',
    body,
    headers: body !== undefined ? { 'content-type': 'application/json', ...headers } : headers,
  });
  const bytes = Buffer.from(await r.body.arrayBuffer());
  return { status: r.statusCode, headers: r.headers, text: bytes.toString('utf8'), bytes };
}

export function postJson(base: string, path: string, value: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  return call(base + path, 'POST', JSON.stringify(value), headers);
}
