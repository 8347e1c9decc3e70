import { EventEmitter } from 'node:events';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { BodyReader, BodyTooLarge } from '../../../src/api/http/body.js';
import { bufferPool } from '../../../src/mem/buffer-pool.js';

interface Seen {
  bodies: string[];
  failures: string[];
}

let server: Server | null = null;
afterEach(async () => {
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = null;
});

/** A node:http server reading every body with one BodyReader: bodies are echoed, failures answered 400 or dropped. */
async function serve(limit: number): Promise<{ port: number; seen: Seen }> {
  const seen: Seen = { bodies: [], failures: [] };
  const consumer = {
    handle(_req: IncomingMessage, res: ServerResponse, body: Buffer, length: number, requestId: string): void {
      const text = body.toString('utf8', 0, length);
      seen.bodies.push(`${requestId}:${text}`);
      bufferPool.release(body);
      res.end(text);
    },
  };
  const reader = new BodyReader(limit, (res, e, requestId, path) => {
    seen.failures.push(`${requestId}:${path}:${e instanceof BodyTooLarge ? 'too large' : e.message}`);
    if (e instanceof BodyTooLarge) {
      res.setHeader('connection', 'close');
      res.writeHead(400).end('too large');
    } else if (!res.headersSent) res.destroy();
  });
  let n = 0;
  server = createServer((req, res) => reader.read(req, res, consumer, `r${++n}`, null, req.url ?? '/'));
  await new Promise<void>((r) => server?.listen(0, '127.0.0.1', r));
  return { port: (server?.address() as AddressInfo).port, seen };
}

/** Writes raw bytes on one connection and returns everything the server sent back until it closed or `ms` passed. */
function exchange(port: number, chunks: string[], ms = 300, endAfter = false): Promise<string> {
  return new Promise((resolve) => {
    let out = '';
    const s = connect(port, '127.0.0.1', () => {
      for (const c of chunks) s.write(c);
      if (endAfter) s.end();
    });
    s.on('data', (d) => (out += d.toString()));
    const timer = setTimeout(() => {
      s.destroy();
      resolve(out);
    }, ms);
    s.on('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
    s.on('error', () => {});
  });
}

const post = (body: string, path = '/v1/score'): string => `POST ${path} HTTP/1.1\r\nhost: x\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;

/** A request as the reader sees it: an emitter with headers and `complete`, driven by the test. */
function fakeRequest(contentLength?: number): IncomingMessage & { complete: boolean } {
  const e = new EventEmitter() as EventEmitter & { headers: Record<string, string>; complete: boolean; resume(): void };
  e.headers = contentLength === undefined ? {} : { 'content-length': String(contentLength) };
  e.complete = false;
  e.resume = () => {};
  return e as unknown as IncomingMessage & { complete: boolean };
}

describe('BodyReader', () => {
  it('a failed read is unhooked from its request: that request\'s later events never reach the read serving the next', () => {
    const failures: string[] = [];
    const bodies: string[] = [];
    const consumer = {
      handle(_req: IncomingMessage, _res: ServerResponse, body: Buffer, length: number, requestId: string): void {
        bodies.push(`${requestId}:${body.toString('utf8', 0, length)}`);
        bufferPool.release(body);
      },
    };
    const reader = new BodyReader(10, (_res, e, requestId) => void failures.push(`${requestId}:${e.message}`));
    const res = {} as ServerResponse;
    const one = fakeRequest();
    reader.read(one, res, consumer, 'r1', null, '/v1/score');
    one.emit('data', Buffer.from('0123456789abc'));
    expect(failures).toEqual(['r1:Request body exceeds 10 bytes (scorecar --max-body-bytes)']);
    // The client goes on sending, then errors; meanwhile the same read serves r2.
    const two = fakeRequest(4);
    reader.read(two, res, consumer, 'r2', null, '/v1/score');
    one.emit('data', Buffer.from('more'));
    one.emit('error', new Error('late'));
    one.emit('close');
    two.emit('data', Buffer.from('{"a"'));
    two.complete = true;
    two.emit('end');
    two.emit('close');
    expect(failures.length).toBe(1);
    expect(bodies).toEqual(['r2:{"a"']);
  });


  it('a request whose body was read, cut off while its answer is pending, never reaches the read now serving another', async () => {
    const seen: Seen = { bodies: [], failures: [] };
    const held: ServerResponse[] = [];
    const consumer = {
      handle(_req: IncomingMessage, res: ServerResponse, body: Buffer, length: number, requestId: string): void {
        seen.bodies.push(`${requestId}:${body.toString('utf8', 0, length)}`);
        bufferPool.release(body);
        // The first answer is held (a backend call in flight); the others answer at once.
        if (requestId === 'r1') held.push(res);
        else res.end('ok');
      },
    };
    const reader = new BodyReader(1 << 20, (res, e, requestId) => {
      seen.failures.push(`${requestId}:${e.message}`);
      if (!res.headersSent) res.destroy();
    });
    let n = 0;
    server = createServer((req, res) => reader.read(req, res, consumer, `r${++n}`, null, '/v1/score'));
    await new Promise<void>((r) => server?.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const first = connect(port, '127.0.0.1');
    first.on('error', () => {});
    first.write(post('{"a":1}'));
    await new Promise((r) => setTimeout(r, 100));
    expect(seen.bodies).toEqual(['r1:{"a":1}']);
    // r2 reads with the read r1 used, its body half sent; then r1's client resets.
    const second = connect(port, '127.0.0.1');
    second.on('error', () => {});
    let answer = '';
    second.on('data', (d) => (answer += d.toString()));
    second.write('POST /v1/score HTTP/1.1\r\nhost: x\r\ncontent-length: 7\r\n\r\n{"b"');
    await new Promise((r) => setTimeout(r, 100));
    first.resetAndDestroy();
    await new Promise((r) => setTimeout(r, 100));
    second.write(':2}');
    await new Promise((r) => setTimeout(r, 200));
    second.destroy();
    expect(seen.failures).toEqual([]);
    expect(seen.bodies).toEqual(['r1:{"a":1}', 'r2:{"b":2}']);
    expect(answer).toMatch(/^HTTP\/1.1 200/);
    expect(held.length).toBe(1);
  });

  it('hands each whole body to its consumer, bodies on one keep-alive connection kept apart as reads are reused', async () => {
    const { port, seen } = await serve(1 << 20);
    const big = 'x'.repeat(200_000); // past the 64 KiB first buffer: grown while reading
    const reply = await exchange(port, [post('{"a":1}'), post(big), post('{"b":2}')], 1500);
    expect(seen.failures).toEqual([]);
    expect(seen.bodies).toEqual(['r1:{"a":1}', `r2:${big}`, 'r3:{"b":2}']);
    expect(reply.match(/HTTP\/1.1 200/g)?.length).toBe(3);
  });

  it('refuses a declared Content-Length over the limit before reading, and a chunked body when it passes the limit, once each', async () => {
    const { port, seen } = await serve(1000);
    const declared = await exchange(port, [`POST /rank HTTP/1.1\r\nhost: x\r\ncontent-length: 5000\r\n\r\n${'y'.repeat(100)}`]);
    expect(declared).toMatch(/^HTTP\/1.1 400/);
    const chunk = (s: string): string => `${s.length.toString(16)}\r\n${s}\r\n`;
    const streamed = await exchange(port, [`POST /v1/score HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n`, chunk('z'.repeat(600)), chunk('z'.repeat(600)), chunk('z'.repeat(600)), '0\r\n\r\n']);
    expect(streamed).toMatch(/^HTTP\/1.1 400/);
    expect(seen.failures).toEqual(['r1:/rank:too large', 'r2:/v1/score:too large']);
    expect(seen.bodies).toEqual([]);
  });

  it('reports a client that leaves mid-body once, and a read reused after it is not reached by the old request', async () => {
    const { port, seen } = await serve(1 << 20);
    await exchange(port, ['POST /v1/score HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\nonly part'], 100);
    await new Promise((r) => setTimeout(r, 100));
    // node reports the cut as an 'aborted' error before the close: one failure either way.
    expect(seen.failures.length).toBe(1);
    expect(seen.failures[0]).toMatch(/^r1:\/v1\/score:(aborted|the client closed the connection before the body ended)$/);
    // The next requests reuse the read: whole, and nothing more is reported for the first.
    await exchange(port, [post('{"c":3}')], 300);
    await exchange(port, [post('{"d":4}')], 300, true);
    await new Promise((r) => setTimeout(r, 100));
    expect(seen.bodies).toEqual(['r2:{"c":3}', 'r3:{"d":4}']);
    expect(seen.failures.length).toBe(1);
  });
});
