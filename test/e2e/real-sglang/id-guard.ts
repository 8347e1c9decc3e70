import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';

/**
 * A guard in front of the real SGLang server for tests that send out-of-range input ids to
 * scorecar: SGLang never range-checks input ids, and an id outside the embedding table can kill
 * its scheduler (and with it the one server the whole `npm test` run shares). The guard forwards
 * everything unchanged, except a /v1/score or /generate body carrying an input id outside
 * [0, vocabSize): that is recorded and answered 502 here, never forwarded. A test asserts that
 * nothing was recorded, which is how it sees that scorecar kept such ids from the server.
 */
export interface IdGuard {
  url: string;
  /** Bodies that would have reached the server with an out-of-range id. */
  blocked: string[];
  forwarded: number;
  close(): Promise<void>;
}

function outOfRange(value: unknown, vocab: number): boolean {
  if (Array.isArray(value)) return value.some((v) => outOfRange(v, vocab));
  return typeof value === 'number' && (value < 0 || value >= vocab || !Number.isInteger(value));
}

export async function startIdGuard(target: string, vocabSize: number): Promise<IdGuard> {
  const guard: IdGuard = { url: '', blocked: [], forwarded: 0, close: async () => {} };
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const path = req.url ?? '/';
    if (req.method === 'POST' && (path === '/v1/score' || path === '/generate')) {
      let parsed: Record<string, unknown> | null = null;
      try {
        parsed = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
      } catch {
        parsed = null;
      }
      if (parsed !== null && typeof parsed === 'object' && ['query', 'items', 'input_ids'].some((k) => outOfRange(parsed?.[k], vocabSize))) {
        guard.blocked.push(body.toString('utf8'));
        res.writeHead(502, { 'content-type': 'text/plain' }).end('id guard: out-of-range input id not forwarded');
        return;
      }
    }
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string' && k !== 'host' && k !== 'connection' && k !== 'content-length') headers[k] = v;
    const r = await request(target + path, { method: (req.method ?? 'GET') as 'GET', headers, body: body.length > 0 ? body : undefined });
    const out = Buffer.from(await r.body.arrayBuffer());
    guard.forwarded++;
    const ct = r.headers['content-type'];
    res.writeHead(r.statusCode, ct === undefined ? {} : { 'content-type': String(ct) }).end(out);
  };
  const server: Server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) res.writeHead(599, { 'content-type': 'text/plain' });
      res.end(`id guard: ${String(e)}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  guard.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  guard.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return guard;
}
