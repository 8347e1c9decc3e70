import { type IncomingHttpHeaders, type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { request } from 'undici';
import { parseServeConfig } from '../../src/config/serve-config.js';
import { type RunningEmulator, startEmulator } from '../../src/emulator/server.js';
import { type Logger, createLogger } from '../../src/observe/logger.js';
import { type RunningSidecar, type SidecarObserveOptions, startSidecar } from '../../src/sidecar.js';

export interface SeenCall {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
}

/**
 * The in-process emulator behind a recording proxy: every call scorecar makes reaches the
 * emulator unchanged, and its path and headers are kept for the test to look at.
 */
export interface RecordedBackend {
  url: string;
  calls: SeenCall[];
  close(): Promise<void>;
}

export async function recordedEmulator(): Promise<RecordedBackend> {
  const emu: RunningEmulator = await startEmulator({ port: 0 });
  const calls: SeenCall[] = [];
  const server: Server = createServer((req, res) => {
    const url = req.url ?? '/';
    calls.push({ method: req.method ?? 'GET', path: url, headers: req.headers });
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const { host: _host, connection: _c, 'content-length': _l, ...headers } = req.headers;
      const method = (req.method ?? 'GET') as 'GET' | 'POST';
      request(emu.url + url, { method, headers: headers as Record<string, string>, body: method === 'GET' ? undefined : Buffer.concat(chunks) }).then(
        async (r) => {
          const body = Buffer.from(await r.body.arrayBuffer());
          res.writeHead(r.statusCode, { 'content-type': String(r.headers['content-type'] ?? 'application/json'), 'content-length': body.length });
          res.end(body);
        },
        (e: unknown) => {
          res.writeHead(502);
          res.end(String(e));
        },
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await emu.close();
    },
  };
}

/** A pino destination that keeps every line, parsed. */
export class LogLines extends Writable {
  readonly lines: Array<Record<string, unknown>> = [];
  readonly raw: string[] = [];

  override _write(chunk: Buffer, _enc: string, cb: () => void): void {
    for (const line of chunk.toString().split('\n')) {
      if (line === '') continue;
      this.raw.push(line);
      this.lines.push(JSON.parse(line) as Record<string, unknown>);
    }
    cb();
  }
}

export function captureLogger(level: 'info' | 'debug' = 'debug'): { log: Logger; lines: LogLines } {
  const lines = new LogLines();
  return { log: createLogger(level, lines), lines };
}

/** scorecar in process, in front of `backend`, with the given flags and observability. */
export async function sidecar(backend: string, flags: string[] = [], observe: SidecarObserveOptions = {}, env: NodeJS.ProcessEnv = {}): Promise<RunningSidecar> {
  const cfg = parseServeConfig(['--backend', backend, '--host', '127.0.0.1', '--port', '0', '--grpc-port', '0', '--tokenizer-threads', '1', ...flags], env);
  return startSidecar(cfg, observe);
}

export async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; headers: IncomingHttpHeaders; text: string }> {
  const r = await request(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: r.statusCode, headers: r.headers as IncomingHttpHeaders, text: await r.body.text() };
}

export async function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: IncomingHttpHeaders; text: string }> {
  const r = await request(url, { method: 'GET', headers });
  return { status: r.statusCode, headers: r.headers as IncomingHttpHeaders, text: await r.body.text() };
}

/** Score calls the backend got (discovery's own null-body probe left out). */
export function scoreCalls(b: RecordedBackend): SeenCall[] {
  return b.calls.filter((c) => c.path === '/v1/score' && c.headers['x-request-id'] !== undefined);
}

export const SCORE_BODY = { query: 'what is observability', items: ['logs', 'traces', 'metrics'], label_token_ids: [9454, 2753], apply_softmax: true };
