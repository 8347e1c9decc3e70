import { createServer, type Server } from 'node:http';
import { type AddressInfo, connect, type Socket } from 'node:net';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import type { HttpReply, HttpRequestView } from '../../../src/api/http/exchange.js';
import { H1Front, type H1FrontOptions } from '../../../src/api/http/h1-front.js';
import { Timing, putTimingHeaders } from '../../../src/api/timing-headers.js';
import { until } from '../../support/until.js';

/**
 * The H1 front against raw sockets: what it serves itself, what it hands to node:http (whose
 * handler here answers "node ..."), in order, once each, within its time and byte bounds.
 */
interface Served {
  body: string;
  requestId: string;
  headers: HttpRequestView['headers'];
}

interface Rig {
  url: string;
  port: number;
  front: H1Front;
  server: Server;
  served: Served[];
  closes: number;
  inFlight: number;
  timeouts: string[];
  /** How the fake route answers: at once (default), later, or never (the test ends it). */
  answer: (res: HttpReply, s: Served) => void;
  pending: { res: HttpReply; s: Served }[];
}

const rigs: Rig[] = [];
afterEach(async () => {
  for (const r of rigs.splice(0)) {
    r.front.closeAll();
    r.server.closeAllConnections();
    await new Promise<void>((resolve) => r.server.close(() => resolve()));
  }
});

function reply(res: HttpReply, s: Served, status = 200): void {
  const out = Buffer.from(JSON.stringify({ rid: s.requestId, body: s.body }));
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': out.length, 'x-request-id': s.requestId });
  res.end(out);
}

async function rig(opts: Partial<H1FrontOptions> = {}, admits: (req: HttpRequestView) => boolean = () => true): Promise<Rig> {
  const server = createServer((req, res) => {
    let n = 0;
    req.on('data', (c: Buffer) => (n += c.length));
    req.on('end', () => res.end(`node ${req.method} ${req.url} ${n}`));
  });
  const r = { served: [], closes: 0, inFlight: 0, timeouts: [], pending: [], answer: (res: HttpReply, s: Served) => reply(res, s) } as unknown as Rig;
  r.server = server;
  let ids = 0;
  r.front = new H1Front({
    server,
    route: {
      handle(req, res, body, length, requestId) {
        const s = { body: body.toString('latin1', 0, length), requestId, headers: req.headers };
        r.served.push(s);
        res.on('close', () => r.closes++);
        r.answer(res, s);
      },
    },
    admits,
    requestId: (h) => h ?? `gen-${++ids}`,
    started: () => r.inFlight++,
    finished: () => r.inFlight--,
    timedOut: (what) => r.timeouts.push(what),
    failed: (e) => {
      throw e;
    },
    maxBodyBytes: 1024 * 1024,
    headersTimeoutMs: 400,
    requestTimeoutMs: 800,
    keepAliveTimeoutMs: 75_000,
    ...opts,
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  r.port = (server.address() as AddressInfo).port;
  rigs.push(r);
  return r;
}

function post(body: string, extra = ''): string {
  return `POST /v1/score HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n${extra}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

/** A raw client that collects what comes back. */
function client(port: number): { socket: Socket; text: () => string; closed: Promise<void> } {
  const socket = connect(port, '127.0.0.1');
  let text = '';
  socket.on('data', (c: Buffer) => (text += c.toString('latin1')));
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  return { socket, text: () => text, closed };
}

/** The bodies of the responses in `text`, in order (each has a Content-Length). */
function bodies(text: string): string[] {
  const out: string[] = [];
  let at = 0;
  for (;;) {
    const end = text.indexOf('\r\n\r\n', at);
    if (end < 0) return out;
    const m = /content-length: (\d+)/i.exec(text.slice(at, end));
    const n = Number(m?.[1] ?? 0);
    out.push(text.slice(end + 4, end + 4 + n));
    at = end + 4 + n;
  }
}

describe('H1Front', () => {
  it('writes an endTimed answer (the first `length` bytes of its buffer) with the head the writeHead path gives the same figures, byte for byte but the Date', async () => {
    const r = await rig();
    const t = new Timing();
    Object.assign(t, { items: 12, cacheHits: 3, tokenizeMs: 0.0004, queueMs: 1.23456, backendMs: 17.5, totalMs: 1234.5678 });
    let n = 0;
    r.answer = (res, s) => {
      const out = Buffer.from(JSON.stringify({ rid: s.requestId }));
      if (n++ === 0) {
        const endTimed = res.endTimed;
        expect(endTimed).toBeTypeOf('function');
        // Only the first `length` bytes are the answer: a pooled buffer holds more.
        const pooled = Buffer.concat([out, Buffer.from('not part of the answer')]);
        res.endTimed?.(pooled, out.length, () => {}, s.requestId, t);
      } else {
        res.writeHead(200, putTimingHeaders({ 'content-type': 'application/json', 'content-length': out.length, 'x-request-id': s.requestId }, t));
        res.end(out);
      }
    };
    const c = client(r.port);
    c.socket.write(post('{}', 'x-request-id: same\r\n') + post('{}', 'x-request-id: same\r\n'));
    await until(() => bodies(c.text()).length === 2);
    const heads = (c.text().match(/HTTP\/1\.1 [\s\S]*?\r\n\r\n/g) ?? []).map((h) => h.replace(/Date: [^\r]+/, 'Date: -'));
    expect(heads).toHaveLength(2);
    expect(heads[0]).toBe(heads[1]);
    expect(bodies(c.text())).toEqual(['{"rid":"same"}', '{"rid":"same"}']);
    expect(heads[0]).toContain('x-scorecar-items: 12\r\nx-scorecar-cache-hits: 3\r\nx-scorecar-tokenize-ms: 0.000\r\nx-scorecar-queue-ms: 1.235\r\nx-scorecar-backend-ms: 17.500\r\nx-scorecar-total-ms: 1234.568\r\n');
    c.socket.destroy();
  });

  it('serves POST /v1/score itself, with node:http-style Date and keep-alive headers, and reads the client headers the route uses', async () => {
    const r = await rig();
    const c = client(r.port);
    c.socket.write(post('{"a":1}', 'x-request-id: mine\r\nx-scorecar-priority: nearline\r\n'));
    await until(() => bodies(c.text()).length === 1);
    const head = c.text().slice(0, c.text().indexOf('\r\n\r\n'));
    expect(head).toMatch(/^HTTP\/1\.1 200 OK\r\ncontent-type: application\/json\r\ncontent-length: \d+\r\nx-request-id: mine\r\nDate: .+ GMT\r\nConnection: keep-alive\r\nKeep-Alive: timeout=75$/);
    expect(JSON.parse(bodies(c.text())[0] as string)).toEqual({ rid: 'mine', body: '{"a":1}' });
    expect(r.served[0]?.headers['x-scorecar-priority']).toBe('nearline');
    expect(r.served[0]?.headers['content-type']).toBe('application/json');
    expect(r.inFlight).toBe(0);
    c.socket.destroy();
  });

  it('reads heads and bodies split at every byte, and pipelined requests in order, once each', async () => {
    const r = await rig();
    const stream = [post('{"n":1}'), post('{"n":2}', 'x-request-id: two\r\n'), post('x'.repeat(3000))].join('');
    const c = client(r.port);
    for (let i = 0; i < stream.length; i++) {
      c.socket.write(stream[i] as string);
      if (i % 97 === 0) await new Promise((res) => setImmediate(res));
    }
    await until(() => bodies(c.text()).length === 3);
    expect(bodies(c.text()).map((b) => JSON.parse(b).body)).toEqual(['{"n":1}', '{"n":2}', 'x'.repeat(3000)]);
    expect(r.served.map((s) => s.requestId)).toEqual(['gen-1', 'two', 'gen-2']);
    c.socket.destroy();
  });

  it('hands the connection to node:http at the first request it does not serve, in order, with the bytes already read', async () => {
    const r = await rig();
    r.answer = (res, s) => setTimeout(() => reply(res, s), 30);
    const c = client(r.port);
    // One write: a front request, one for node, then one the front would serve (node serves it now).
    c.socket.write(`${post('{"first":1}')}GET /health HTTP/1.1\r\nHost: t\r\n\r\n${post('abc')}`);
    await until(() => bodies(c.text()).length === 3);
    const got = bodies(c.text());
    expect(JSON.parse(got[0] as string).body).toBe('{"first":1}');
    expect(got.slice(1)).toEqual(['node GET /health 0', 'node POST /v1/score 3']);
    expect(r.served).toHaveLength(1);
    c.socket.destroy();
  });

  it('gives each of many interleaved connections its own bytes, though all read into one buffer', async () => {
    const r = await rig();
    // The objects node accepted: the front moves each one's handle to a socket of its own.
    const accepted: Socket[] = [];
    r.server.on('connection', (s: Socket) => accepted.push(s));
    r.answer = (res, s) => setImmediate(() => reply(res, s));
    const n = 24;
    const streams = Array.from({ length: n }, (_, i) => {
      const body = (c: number): string => String.fromCharCode(97 + ((i + c) % 26)).repeat(500 + ((i * 137 + c * 71) % 9000));
      return { want: [body(0), body(1), body(2)], bytes: [post(body(0)), post(body(1)), post(body(2))].join('') };
    });
    const clients = streams.map(() => client(r.port));
    // Round-robin pieces of every stream, so reads of different connections alternate in the buffer.
    const at = new Array<number>(n).fill(0);
    for (let live = n; live > 0; ) {
      live = 0;
      for (let i = 0; i < n; i++) {
        const st = streams[i] as (typeof streams)[number];
        const a = at[i] as number;
        if (a >= st.bytes.length) continue;
        live++;
        const cut = 1 + ((i * 31 + a) % 1500);
        (clients[i] as ReturnType<typeof client>).socket.write(st.bytes.slice(a, a + cut));
        at[i] = a + cut;
      }
      await new Promise((res) => setImmediate(res));
    }
    await until(() => clients.every((c) => bodies(c.text()).length === 3), 10_000);
    for (let i = 0; i < n; i++) {
      const got = bodies((clients[i] as ReturnType<typeof client>).text()).map((b) => (JSON.parse(b) as { body: string }).body);
      expect(got).toEqual(streams[i]?.want);
    }
    // Read through adopt()'s shared buffer, not the accepted sockets' own reads.
    expect(accepted).toHaveLength(n);
    for (const s of accepted) expect((s as unknown as { _handle: unknown })._handle).toBeNull();
    for (const c of clients) c.socket.destroy();
  });

  it('still delivers the bytes of a connection node:http lets go of (an upgrade)', async () => {
    const r = await rig();
    r.server.on('upgrade', (_req, socket: Socket, head: Buffer) => {
      socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n');
      if (head.length > 0) socket.write(head);
      socket.on('data', (d: Buffer) => socket.write(d));
      // node's server sockets are half-open: this one ends when its client does (server.close() waits for it).
      socket.on('end', () => socket.end());
    });
    const c = client(r.port);
    // The front serves the first request, then hands the connection over at the upgrade.
    c.socket.write(`${post('{"first":1}')}GET /echo HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\nearly`);
    await until(() => c.text().includes('101 Switching Protocols') && c.text().endsWith('early'));
    c.socket.write('later bytes');
    await until(() => c.text().endsWith('earlylater bytes'));
    expect(JSON.parse(bodies(c.text())[0] as string).body).toBe('{"first":1}');
    c.socket.destroy();
  });

  it('leaves chunked bodies, refused requests and over-limit bodies to node:http', async () => {
    const r = await rig({ maxBodyBytes: 10 }, (req) => req.headers.authorization === 'Bearer k');
    for (const [req, want] of [
      ['POST /v1/score HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n', 'node POST /v1/score 3'],
      [post('abc'), 'node POST /v1/score 3'],
      [post('x'.repeat(11), 'authorization: Bearer k\r\n'), 'node POST /v1/score 11'],
    ] as const) {
      const c = client(r.port);
      c.socket.write(req);
      await until(() => bodies(c.text()).length === 1);
      expect(bodies(c.text())[0]).toBe(want);
      c.socket.destroy();
    }
    const c = client(r.port);
    c.socket.write(post('ok', 'authorization: Bearer k\r\n'));
    await until(() => bodies(c.text()).length === 1);
    expect(JSON.parse(bodies(c.text())[0] as string).body).toBe('ok');
    c.socket.destroy();
  });

  it('tells the route when its client goes mid-request, and writes nothing after', async () => {
    const r = await rig();
    r.answer = (res, s) => r.pending.push({ res, s });
    const c = client(r.port);
    c.socket.write(post('{}'));
    await until(() => r.pending.length === 1);
    expect(r.inFlight).toBe(1);
    c.socket.destroy();
    await until(() => r.closes === 1);
    expect(r.inFlight).toBe(0);
    const p = r.pending[0] as { res: HttpReply; s: Served };
    expect(p.res.destroyed).toBe(true);
    let written = false;
    p.res.writeHead(200, { 'content-length': 2 });
    p.res.end(Buffer.from('{}'), () => (written = true));
    expect(written).toBe(true);
  });

  it('answers Connection: close with Connection: close and ends the connection', async () => {
    const r = await rig();
    const c = client(r.port);
    c.socket.write(post('{}', 'Connection: close\r\n'));
    await c.closed;
    expect(c.text()).toMatch(/\r\nConnection: close\r\n\r\n/);
    expect(bodies(c.text())).toHaveLength(1);
  });

  it('answers a slow head and a slow body with 408', async () => {
    const r = await rig();
    const head = client(r.port);
    head.socket.write('POST /v1/score HTTP/1.1\r\nHost: t\r\n');
    const body = client(r.port);
    body.socket.write(post('{"query":1}').slice(0, -3));
    const t0 = Date.now();
    await Promise.all([head.closed, body.closed]);
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(head.text()).toMatch(/^HTTP\/1\.1 408 /);
    expect(body.text()).toMatch(/^HTTP\/1\.1 408 /);
    expect(r.timeouts.sort()).toEqual(['headers', 'request']);
    expect(r.served).toHaveLength(0);
  });

  it('sizes a body buffer by the bytes that arrive, not by the Content-Length claimed', async () => {
    const r = await rig({ maxBodyBytes: 512 * 1024 * 1024 });
    const c = client(r.port);
    const before = process.memoryUsage().arrayBuffers;
    c.socket.write('POST /v1/score HTTP/1.1\r\nHost: t\r\nContent-Length: 500000000\r\n\r\nabc');
    await new Promise((res) => setTimeout(res, 100));
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(16 * 1024 * 1024);
    await c.closed;
    expect(c.text()).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('stops reading from a client that pipelines requests and does not read the answers', async () => {
    const r = await rig();
    const big = Buffer.alloc(256 * 1024, 0x61).toString('latin1');
    r.answer = (res, s) => {
      const out = Buffer.from(big);
      res.writeHead(200, { 'content-length': out.length, 'x-n': s.body });
      res.end(out);
    };
    const c = client(r.port);
    c.socket.pause();
    const n = 400;
    let all = '';
    for (let i = 0; i < n; i++) all += post(String(i));
    c.socket.write(all);
    await new Promise((res) => setTimeout(res, 500));
    // Socket buffers hold some answers; the front reads no further than those allow.
    const servedWhilePaused = r.served.length;
    expect(servedWhilePaused).toBeLessThan(n);
    let got = 0;
    c.socket.removeAllListeners('data');
    let tail = '';
    c.socket.on('data', (b: Buffer) => {
      tail += b.toString('latin1');
      for (;;) {
        const end = tail.indexOf('\r\n\r\n');
        if (end < 0 || tail.length < end + 4 + big.length) break;
        expect(/x-n: (\d+)/.exec(tail.slice(0, end))?.[1]).toBe(String(got));
        got++;
        tail = tail.slice(end + 4 + big.length);
      }
    });
    c.socket.resume();
    await until(() => got === n, 20_000);
    expect(r.served).toHaveLength(n);
    c.socket.destroy();
  });

  it('closes idle connections on closeIdle() and keeps busy ones until their answer', async () => {
    const r = await rig();
    r.answer = (res, s) => r.pending.push({ res, s });
    const idle = client(r.port);
    idle.socket.write(post('1'));
    const busy = client(r.port);
    await until(() => r.pending.length === 1);
    (r.pending.shift() as { res: HttpReply; s: Served }).res.end(Buffer.from('ok'));
    busy.socket.write(post('2'));
    await until(() => r.pending.length === 1 && r.front.connections === 2);
    r.front.closeIdle();
    await idle.closed;
    expect(busy.socket.destroyed).toBe(false);
    const p = r.pending.shift() as { res: HttpReply; s: Served };
    reply(p.res, p.s);
    await until(() => bodies(busy.text()).length === 1);
    busy.socket.destroy();
  });

  it('refuses a bad header value at writeHead, as node:http does, so the route can still answer', async () => {
    const r = await rig();
    let threw = '';
    r.answer = (res, s) => {
      try {
        res.writeHead(200, { 'content-length': 2, 'x-bad': 'a\u0001b' });
      } catch (e) {
        threw = (e as Error).message;
      }
      expect(res.headersSent).toBe(false);
      reply(res, s, 500);
    };
    const c = client(r.port);
    c.socket.write(post('{}'));
    await until(() => bodies(c.text()).length === 1);
    expect(threw).toMatch(/Invalid character in header content/);
    expect(c.text()).toMatch(/^HTTP\/1\.1 500 /);
    expect(r.inFlight).toBe(0);
    c.socket.destroy();
  });

  it('counts a request in flight while its body arrives, and out when its client ends mid-body with a 400', async () => {
    const r = await rig();
    const c = client(r.port);
    c.socket.write(post('{"query":[1,2,3]}').slice(0, -5));
    await until(() => r.inFlight === 1);
    c.socket.end();
    await c.closed;
    expect(c.text()).toMatch(/^HTTP\/1\.1 400 /);
    expect(r.inFlight).toBe(0);
    expect(r.served).toHaveLength(0);
  });

  it('answers any mix of front and node:http requests, split anywhere, in order and once each', async () => {
    const r = await rig();
    r.answer = (res, s) => (s.body.length % 2 === 0 ? reply(res, s) : setImmediate(() => reply(res, s)));
    const kinds = ['front', 'front', 'front', 'health', 'chunked'] as const;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ kind: fc.constantFrom(...kinds), n: fc.integer({ min: 0, max: 3000 }) }), { minLength: 1, maxLength: 8 }),
        fc.array(fc.integer({ min: 1, max: 4000 }), { minLength: 1, maxLength: 12 }),
        async (reqs, cuts) => {
          let stream = '';
          const want: string[] = [];
          let handed = false;
          for (const q of reqs) {
            const body = 'b'.repeat(q.n);
            if (q.kind === 'front') {
              stream += post(body);
              // After the first request node:http serves, it serves the rest of the connection.
              want.push(handed ? `node POST /v1/score ${q.n}` : JSON.stringify({ rid: 'any', body }));
            } else if (q.kind === 'health') {
              stream += 'GET /health HTTP/1.1\r\nHost: t\r\n\r\n';
              want.push('node GET /health 0');
              handed = true;
            } else {
              const chunk = q.n > 0 ? `${q.n.toString(16)}\r\n${body}\r\n` : '';
              stream += `POST /v1/score HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n${chunk}0\r\n\r\n`;
              want.push(`node POST /v1/score ${q.n}`);
              handed = true;
            }
          }
          const c = client(r.port);
          let at = 0;
          for (const cut of cuts) {
            if (at >= stream.length) break;
            c.socket.write(stream.slice(at, at + cut));
            at += cut;
            await new Promise((res) => setImmediate(res));
          }
          if (at < stream.length) c.socket.write(stream.slice(at));
          await until(() => bodies(c.text()).length >= want.length, 5000);
          const got = bodies(c.text()).map((b) => (b.startsWith('{') ? JSON.stringify({ rid: 'any', body: (JSON.parse(b) as { body: string }).body }) : b));
          expect(got).toEqual(want);
          c.socket.destroy();
        },
      ),
      { numRuns: 25 },
    );
    await until(() => r.inFlight === 0);
  });
});

