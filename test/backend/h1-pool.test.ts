import net from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { classifyFailure, isConnectFailure } from '../../src/backend/errors.js';
import { type H1PoolOptions, H1Pool } from '../../src/backend/h1-pool.js';
import { bufferPool } from '../../src/mem/buffer-pool.js';
import { CancelScope } from '../../src/mem/cancel-scope.js';

/** What a raw server got: each request's head and body, by connection. */
interface Got {
  head: string;
  body: string;
  conn: number;
}

type Answer = (got: Got, socket: net.Socket, index: number) => void;

const open: Array<{ close: () => void }> = [];
afterEach(() => {
  for (const o of open.splice(0)) o.close();
});

/** A raw TCP server that parses requests (Content-Length bodies) and answers with `answer`. */
async function rawServer(answer: Answer): Promise<{ port: number; got: Got[]; conns: () => number; sockets: net.Socket[] }> {
  const got: Got[] = [];
  const sockets: net.Socket[] = [];
  let conns = 0;
  const server = net.createServer((s) => {
    const conn = conns++;
    sockets.push(s);
    let buf = Buffer.alloc(0);
    s.on('error', () => {});
    s.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buf.toString('latin1', 0, end);
        const len = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
        if (buf.length < end + 4 + len) return;
        const g = { head, body: buf.toString('utf8', end + 4, end + 4 + len), conn };
        buf = buf.subarray(end + 4 + len);
        got.push(g);
        answer(g, s, got.length - 1);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  open.push({
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  });
  return { port: (server.address() as net.AddressInfo).port, got, conns: () => conns, sockets };
}

function ok(body: string): string {
  return `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

function pool(port: number, over: Partial<H1PoolOptions> = {}): H1Pool {
  const p = new H1Pool({ host: '127.0.0.1', port, connections: 2, timeoutMs: 2000, connectTimeoutMs: 1000, idleTimeoutMs: 60_000, maxReplyBytes: 1 << 20, headers: { authorization: 'Bearer k' }, ...over });
  open.push({ close: () => void p.destroy() });
  return p;
}

const text = (r: { body: Buffer; length: number }): string => r.body.toString('utf8', 0, r.length);

describe('H1Pool', () => {
  it('sends one well-formed POST per call and reuses the keep-alive connection', async () => {
    const srv = await rawServer((g, s) => s.write(ok(`{"echo":${g.body}}`)));
    let connects = 0;
    const p = pool(srv.port, {
      onConnect: () => {
        connects++;
      },
    });
    for (let i = 0; i < 3; i++) {
      const r = await p.post('/v1/score', Buffer.from(`{"i":${i}}`), undefined, { 'x-request-id': `r${i}` });
      expect(r.status).toBe(200);
      expect(r.contentType).toBe('application/json');
      expect(text(r)).toBe(`{"echo":{"i":${i}}}`);
    }
    expect(srv.got.map((g) => g.conn)).toEqual([0, 0, 0]);
    expect(connects).toBe(1);
    const head = (srv.got[2] as Got).head.split('\r\n');
    expect(head[0]).toBe('POST /v1/score HTTP/1.1');
    expect(head).toContain(`host: 127.0.0.1:${srv.port}`);
    expect(head).toContain('content-type: application/json');
    expect(head).toContain('authorization: Bearer k');
    expect(head).toContain('x-request-id: r2');
    expect(head).toContain('content-length: 7');
  });

  it('sends only body[0, bodyLength) of a longer buffer, whole-copied or not', async () => {
    const srv = await rawServer((g, s) => s.write(ok(g.body)));
    const p = pool(srv.port);
    // A pooled writer's buffer: the body, then bytes of an earlier use.
    for (const [length, size] of [[30, 64], [100, 9_000], [5_000, 8_192]] as const) {
      const buf = Buffer.alloc(size, 0x7a);
      const body = `{"n":"${'a'.repeat(length - 8)}"}`;
      buf.write(body, 0, 'latin1');
      const r = await new Promise<string>((resolve, reject) => p.call('/v1/score', buf, undefined, undefined, (x) => resolve(text(x)), reject, length));
      expect(r).toBe(body);
      expect((srv.got.at(-1) as Got).head).toContain(`content-length: ${length}`);
    }
  });

  it('fails a call whose connection cannot even be opened once, after call() returns, and leaves its scope', async () => {
    // Port 70000: net.connect throws synchronously.
    const p = pool(70000);
    const scope = new CancelScope();
    const endings: string[] = [];
    let error: unknown = null;
    p.call('/v1/score', Buffer.from('{}'), scope, undefined, () => endings.push('ok'), (e) => {
      endings.push('fail');
      error = e;
    });
    expect(endings).toEqual([]);
    await new Promise((r) => setImmediate(r));
    expect(endings).toEqual(['fail']);
    expect(String((error as Error).message)).toMatch(/port/i);
    // Out of the scope: cancelling the request later reaches nothing.
    scope.cancelAll();
    await new Promise((r) => setImmediate(r));
    expect(endings).toEqual(['fail']);
    expect(p.pending).toBe(0);
  });

  it('queues calls past the connection cap and answers each with its own reply', async () => {
    // Replies come back out of order across connections; each call must get its own.
    const srv = await rawServer((g, s, i) => setTimeout(() => s.write(ok(g.body)), (7 - i) * 3));
    const p = pool(srv.port);
    const bodies = Array.from({ length: 8 }, (_, i) => `{"n":${i},"pad":"${'x'.repeat(i * 100)}"}`);
    const replies = await Promise.all(bodies.map((b) => p.post('/v1/score', Buffer.from(b))));
    expect(replies.map(text)).toEqual(bodies);
    expect(srv.conns()).toBe(2);
  });

  it('sends a call again on a fresh connection when a reused one was closed under it', async () => {
    // The server reads the second request on the first connection and closes without a reply,
    // as a server closing an idle connection does when the request crosses its close.
    const srv = await rawServer((g, s, i) => {
      if (i === 1) s.destroy();
      else s.write(ok(g.body));
    });
    const p = pool(srv.port, { connections: 2 });
    expect(text(await p.post('/v1/score', Buffer.from('"a"')))).toBe('"a"');
    expect(text(await p.post('/v1/score', Buffer.from('"b"')))).toBe('"b"');
    // Sent twice, the second time on a new connection.
    expect(srv.got.map((g) => [g.body, g.conn])).toEqual([
      ['"a"', 0],
      ['"b"', 0],
      ['"b"', 1],
    ]);
  });

  it('a connection the server closed while idle does not fail the next call', async () => {
    const srv = await rawServer((g, s) => s.end(ok(g.body)));
    const p = pool(srv.port, { connections: 1 });
    expect(text(await p.post('/v1/score', Buffer.from('"a"')))).toBe('"a"');
    await new Promise((r) => setTimeout(r, 30));
    expect(text(await p.post('/v1/score', Buffer.from('"b"')))).toBe('"b"');
    // Dropped when its end arrived (or, if that was late, the call resent): either way on a new one.
    expect(srv.got.map((g) => g.conn)).toEqual([0, 1]);
  });

  it('a stale connection that drops the resent call too fails it as a reset, not a connect failure', async () => {
    const srv = await rawServer((_g, s, i) => {
      if (i === 0) s.write(ok('1'));
      else s.destroy();
    });
    const p = pool(srv.port, { connections: 1 });
    await p.post('/v1/score', Buffer.from('1'));
    const e = await p.post('/v1/score', Buffer.from('2')).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(Error);
    expect(isConnectFailure(e)).toBe(false);
    expect(classifyFailure(e)).toBe('reset');
    // The first attempt and the one resend, no more.
    expect(srv.got.length).toBe(3);
  });

  it('a refused connection is a connect failure (safe to send elsewhere)', async () => {
    const srv = await rawServer(() => {});
    const port = srv.port;
    open.shift()?.close();
    await new Promise((r) => setTimeout(r, 20));
    const e = await pool(port).post('/v1/score', Buffer.from('1')).catch((x: unknown) => x);
    expect(isConnectFailure(e)).toBe(true);
    expect(classifyFailure(e)).toBe('connect');
  });

  it('a backend that never answers times out, and the connection is not reused', async () => {
    const srv = await rawServer((g, s) => {
      if (g.body !== '"hang"') s.write(ok(g.body));
    });
    const p = pool(srv.port, { connections: 1, timeoutMs: 150 });
    const t0 = performance.now();
    const e = await p.post('/v1/score', Buffer.from('"hang"')).catch((x: unknown) => x);
    expect(classifyFailure(e)).toBe('timeout');
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(text(await p.post('/v1/score', Buffer.from('"next"')))).toBe('"next"');
    expect(srv.conns()).toBe(2);
  });

  it('cancelling a call aborts it at once, queued or sent', async () => {
    const srv = await rawServer(() => {});
    const p = pool(srv.port, { connections: 1 });
    const sent = new CancelScope();
    const queued = new CancelScope();
    const a = p.post('/v1/score', Buffer.from('1'), sent).catch((x: unknown) => x);
    const b = p.post('/v1/score', Buffer.from('2'), queued).catch((x: unknown) => x);
    await new Promise((r) => setTimeout(r, 30));
    queued.cancelAll();
    sent.cancelAll();
    expect(((await a) as Error).name).toBe('AbortError');
    expect(((await b) as Error).name).toBe('AbortError');
    expect(p.pending).toBe(0);
    expect(srv.got.length).toBe(1);
  });

  it('a reply over the bound, or not HTTP, fails the call without taking the memory', async () => {
    const srv = await rawServer((g, s) => {
      if (g.body === '"big"') s.write('HTTP/1.1 200 OK\r\ncontent-length: 999999999\r\n\r\n');
      else s.write('garbage\r\n\r\n');
    });
    const p = pool(srv.port, { maxReplyBytes: 1024 });
    await expect(p.post('/v1/score', Buffer.from('"big"'))).rejects.toThrow(/over the 1024-byte bound/);
    const e = await p.post('/v1/score', Buffer.from('"x"')).catch((x: unknown) => x);
    expect(classifyFailure(e)).toBe('reset');
  });

  it('leaves off per-call headers that would split the request head, and keeps obs-text bytes', async () => {
    const srv = await rawServer((g, s) => s.write(ok(g.body)));
    const p = pool(srv.port);
    const r = await p.post('/v1/score', Buffer.from('1'), undefined, { 'x-request-id': 'a\r\nx-evil: 1', traceparent: 'caf\xe9' });
    expect(r.status).toBe(200);
    const head = (srv.got[0] as Got).head;
    expect(head).not.toContain('x-evil');
    expect(head).not.toContain('x-request-id');
    expect(head.split('\r\n')).toContain('traceparent: caf\xe9');
  });

  it('gives each request buffer back to the pool once, after the socket is done with it', async () => {
    // Early replies (before a large body is written), cancels and resends all end a call while
    // its bytes may still be with the socket.
    const free = new Set<Buffer>();
    let doubles = 0;
    const acquire = bufferPool.acquire.bind(bufferPool);
    const release = bufferPool.release.bind(bufferPool);
    const a = vi.spyOn(bufferPool, 'acquire').mockImplementation((n: number) => {
      const b = acquire(n);
      free.delete(b);
      return b;
    });
    const r = vi.spyOn(bufferPool, 'release').mockImplementation((b: Buffer) => {
      if (free.has(b)) doubles++;
      free.add(b);
      release(b);
    });
    try {
      const srv = await rawServer((g, s, i) => {
        if (i % 3 === 2) s.destroy();
        else s.write(ok(String(g.body.length)));
      });
      // Answers as soon as a head arrives, without reading the body.
      const early = net.createServer((s) => {
        s.on('error', () => {});
        s.once('data', () => s.write(ok('"early"')));
      });
      await new Promise<void>((res) => early.listen(0, '127.0.0.1', res));
      open.push({ close: () => early.close() });
      const p = pool(srv.port, { connections: 2 });
      const e = pool((early.address() as net.AddressInfo).port, { connections: 1 });
      const big = Buffer.alloc(8 << 20, 0x31);
      const calls: Promise<unknown>[] = [];
      for (let i = 0; i < 30; i++) {
        const scope = new CancelScope();
        calls.push(p.post('/v1/score', Buffer.from(`"${'x'.repeat(i)}"`), scope).catch((x: unknown) => x));
        if (i % 5 === 4) scope.cancelAll();
      }
      calls.push(e.post('/v1/score', big).then(text));
      calls.push(e.post('/v1/score', big).then(text));
      const out = await Promise.all(calls);
      expect(out.slice(-2)).toEqual(['"early"', '"early"']);
      await new Promise((res) => setTimeout(res, 100));
      expect(doubles).toBe(0);
    } finally {
      a.mockRestore();
      r.mockRestore();
    }
  });

  it('reuses its call objects without one call ever getting another\'s reply or a second answer', async () => {
    // Echoes after a random delay; drops every 7th request's connection; some calls are
    // cancelled before or after they are sent. Pooled calls come back and go out again throughout.
    let seed = 11;
    const rnd = (): number => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    const srv = await rawServer((g, s, i) => {
      if (i % 7 === 6) s.destroy();
      else setTimeout(() => s.write(ok(g.body)), Math.floor(rnd() * 4));
    });
    const p = pool(srv.port, { connections: 3 });
    const answers = new Map<number, string[]>();
    const note = (n: number, what: string): void => void answers.set(n, [...(answers.get(n) ?? []), what]);
    let n = 0;
    for (let round = 0; round < 40; round++) {
      const waits: Array<Promise<void>> = [];
      for (let k = 0; k < 6; k++) {
        const mine = n++;
        const scope = new CancelScope();
        waits.push(
          new Promise<void>((done) => {
            p.call('/v1/score', Buffer.from(`{"call":${mine}}`), scope, undefined, (r) => {
              note(mine, text(r));
              done();
            }, (e) => {
              note(mine, `failed: ${(e as Error).name}`);
              done();
            });
          }),
        );
        const c = rnd();
        if (c < 0.1) scope.cancelAll();
        else if (c < 0.2) setTimeout(() => scope.cancelAll(), 1);
      }
      await Promise.all(waits);
    }
    await new Promise((r) => setTimeout(r, 50));
    expect(answers.size).toBe(n);
    for (const [call, got] of answers) {
      expect(got, `call ${call}`).toHaveLength(1);
      const [only] = got as [string];
      if (!only.startsWith('failed')) expect(JSON.parse(only)).toEqual({ call });
    }
    // Most calls were answered (not a pool that fails everything).
    expect([...answers.values()].filter(([a]) => !(a as string).startsWith('failed')).length).toBeGreaterThan(n / 2);
  });

  it('close() waits for calls in flight, then ends every connection', async () => {
    const srv = await rawServer((g, s) => setTimeout(() => s.write(ok(g.body)), 50));
    const p = pool(srv.port);
    const call = p.post('/v1/score', Buffer.from('"late"'));
    await new Promise((r) => setTimeout(r, 10));
    const closed = p.close();
    expect(text(await call)).toBe('"late"');
    await closed;
    await expect(p.post('/v1/score', Buffer.from('1'))).rejects.toThrow(/closing/);
  });
});
