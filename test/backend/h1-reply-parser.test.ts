import { describe, expect, it } from 'vitest';
import { H1ProtocolError, H1ReplyParser, MAX_HEAD_BYTES } from '../../src/backend/h1-reply-parser.js';

interface Read {
  status: number;
  body: string;
  keepAlive: boolean;
  contentType: string;
  /** Bytes left over past the reply. */
  rest: number;
}

/** Feeds `wire` in pieces of `step` bytes (0: whole), then `end()` if `close`. */
function read(wire: string | Buffer, step = 0, close = false, max = 1 << 20): Read {
  const b = typeof wire === 'string' ? Buffer.from(wire, 'latin1') : wire;
  const p = new H1ReplyParser(max);
  let rest = 0;
  const size = step || b.length;
  for (let at = 0; at < b.length && !p.done; at += size) {
    const end = Math.min(b.length, at + size);
    const used = p.feed(b, at, end);
    if (p.done) rest = b.length - at - used;
  }
  if (close) p.end();
  expect(p.done).toBe(true);
  return { status: p.status, body: p.takeBody().toString('latin1', 0, p.length), keepAlive: p.keepAlive, contentType: p.contentType, rest };
}

const UVICORN = 'HTTP/1.1 200 OK\r\ndate: Thu, 03 Dec 2026 20:00:00 GMT\r\nserver: uvicorn\r\ncontent-length: 27\r\ncontent-type: application/json\r\n\r\n{"scores":[[0.5,0.5]],"x":1}';

describe('H1ReplyParser', () => {
  it("reads uvicorn's reply in one piece and split at every byte", () => {
    const whole = read(UVICORN.slice(0, -1));
    expect(whole).toEqual({ status: 200, body: '{"scores":[[0.5,0.5]],"x":1', keepAlive: true, contentType: 'application/json', rest: 0 });
    for (const step of [1, 2, 3, 7, 50]) expect(read(UVICORN.slice(0, -1), step)).toEqual(whole);
  });

  it('reads chunked replies (extensions, trailers) split at every byte', () => {
    const wire = 'HTTP/1.1 500 Internal Server Error\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n5;name=v\r\nhello\r\n1A\r\n abcdefghijklmnopqrstuvwxy\r\n0\r\nx-trailer: 1\r\n\r\n';
    for (const step of [0, 1, 4]) {
      expect(read(wire, step)).toEqual({ status: 500, body: 'hello abcdefghijklmnopqrstuvwxy', keepAlive: true, contentType: 'text/plain; charset=utf-8', rest: 0 });
    }
  });

  it('skips interim 1xx replies, reads bodies to close, honours Connection and HTTP/1.0', () => {
    expect(read('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok').body).toBe('ok');
    expect(read('HTTP/1.1 200 OK\r\n\r\nuntil close', 3, true)).toMatchObject({ body: 'until close', keepAlive: false });
    expect(read('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n')).toMatchObject({ body: '', keepAlive: false });
    expect(read('HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx').keepAlive).toBe(false);
    expect(read('HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\nx').keepAlive).toBe(true);
    // Read in place (one word, any case) or as a list.
    expect(read('HTTP/1.1 200 OK\r\nConnection: CLOSE\r\nContent-Length: 0\r\n\r\n').keepAlive).toBe(false);
    expect(read('HTTP/1.1 200 OK\r\nConnection: upgrade, close\r\nContent-Length: 0\r\n\r\n').keepAlive).toBe(false);
    expect(read('HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n').keepAlive).toBe(true);
    expect(read('HTTP/1.0 200 OK\r\nConnection: te, keep-alive\r\nContent-Length: 0\r\n\r\n').keepAlive).toBe(true);
    expect(read('HTTP/1.1 204 No Content\r\n\r\n')).toMatchObject({ status: 204, body: '' });
    // A length beside chunked coding: chunked wins, and the connection is not reused.
    expect(read('HTTP/1.1 200 OK\r\ncontent-length: 99\r\ntransfer-encoding: chunked\r\n\r\n1\r\nz\r\n0\r\n\r\n')).toMatchObject({ body: 'z', keepAlive: false });
  });

  it('stops at the end of the reply and reports what follows', () => {
    expect(read('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nokEXTRA').rest).toBe(5);
  });

  it('refuses what is not HTTP/1.1, over-long heads and bodies over the bound, as each arrives', () => {
    // No end(): each must be refused from its bytes alone, not for being cut short.
    const bad = (wire: string, why: RegExp, max = 1 << 20): void => {
      const p = new H1ReplyParser(max);
      const b = Buffer.from(wire, 'latin1');
      expect(() => p.feed(b, 0, b.length)).toThrow(why);
    };
    bad('SSH-2.0-OpenSSH\r\n\r\n', /not an HTTP\/1.x response/);
    bad('HTTP/2 200\r\n\r\n', /not an HTTP\/1.x response/);
    bad('HTTP/1.1 2x0 OK\r\n\r\n', /bad status line/);
    bad('HTTP/1.1 200 OK\r\nno colon here\r\n\r\n', /bad header line/);
    bad('HTTP/1.1 200 OK\r\ncontent-length: 1x\r\n\r\n', /bad Content-Length/);
    bad('HTTP/1.1 200 OK\r\ncontent-length: 1\r\ncontent-length: 2\r\n\r\nxx', /conflicting Content-Length/);
    bad('HTTP/1.1 200 OK\r\ntransfer-encoding: gzip\r\n\r\n', /unsupported Transfer-Encoding/);
    bad('HTTP/1.1 101 Switching Protocols\r\n\r\n', /101/);
    bad('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n', /bad chunk size/);
    bad('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nabX\r\n', /not followed by CRLF/);
    bad(`HTTP/1.1 200 OK\r\nx-big: ${'a'.repeat(MAX_HEAD_BYTES)}\r\n\r\n`, /response head over/);
    // Bounds: a declared length, a chunk size, chunks that add up past it, a body read to close.
    bad('HTTP/1.1 200 OK\r\ncontent-length: 11\r\n\r\n', /reply of 11 bytes is over the 10-byte bound/, 10);
    bad(`HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n${'f'.repeat(20)}\r\n`, /chunk over the 10-byte bound/, 10);
    bad('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n6\r\nabcdef\r\n6\r\nabcdef\r\n0\r\n\r\n', /reply over the 10-byte bound/, 10);
    bad(`HTTP/1.1 200 OK\r\n\r\n${'x'.repeat(11)}`, /reply over the 10-byte bound/, 10);
    // A body the close cut short is refused, not returned short.
    expect(() => read('HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nab', 0, true)).toThrow(H1ProtocolError);
  });

  it('a connection closed before the reply ended is an error, not a short body', () => {
    const p = new H1ReplyParser(1024);
    const b = Buffer.from('HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc');
    p.feed(b, 0, b.length);
    expect(p.started).toBe(true);
    expect(() => p.end()).toThrow(/mid-response/);
    const q = new H1ReplyParser(1024);
    expect(q.started).toBe(false);
    expect(() => q.end()).toThrow(/without a response/);
  });

  it('reset() readies it for the next reply on the connection', () => {
    const p = new H1ReplyParser(1024);
    for (const body of ['first', 'second!']) {
      p.reset();
      const b = Buffer.from(`HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\n\r\n${body}`);
      expect(p.feed(b, 0, b.length)).toBe(b.length);
      expect(p.takeBody().toString('latin1', 0, p.length)).toBe(body);
    }
  });
});
