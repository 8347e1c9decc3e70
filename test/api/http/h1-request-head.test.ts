import { describe, expect, it } from 'vitest';
import { HEAD_INCOMPLETE, HEAD_OTHER, HEAD_OURS, MAX_HEAD_BYTES, RequestHead, readRequestHead } from '../../../src/api/http/h1-request-head.js';

const BASE = 'POST /v1/score HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 12\r\n';

function read(head: string, pad = 0): { v: number; h: RequestHead } {
  const buf = Buffer.alloc(head.length + pad + 8, 0x41);
  buf.write(head, pad, 'latin1');
  const h = new RequestHead();
  return { v: readRequestHead(buf, pad, pad + head.length, h), h };
}

describe('readRequestHead', () => {
  it('takes POST /v1/score with one Host and one Content-Length, reading the headers the routes use', () => {
    const head = `${BASE}x-Request-Id: abc\r\nAUTHORIZATION:  Bearer k \r\ntraceparent: 00-x\r\nX-Scorecar-Deadline-Ms: 250\r\nx-scorecar-priority: nearline\r\nAccept: */*\r\n\r\n`;
    const { v, h } = read(head, 7);
    expect(v).toBe(HEAD_OURS);
    expect(h.length).toBe(head.length);
    expect(h.contentLength).toBe(12);
    expect(h.contentType).toBe('application/json');
    expect(h.requestId).toBe('abc');
    expect(h.authorization).toBe('Bearer k');
    expect(h.traceparent).toBe('00-x');
    expect(h.deadline).toBe('250');
    expect(h.priority).toBe('nearline');
    expect(h.close).toBe(false);
  });

  it('needs more bytes at every split of a head, and never reads past the end it is given', () => {
    const head = `${BASE}connection: keep-alive\r\n\r\n`;
    for (let n = 0; n < head.length; n++) {
      const buf = Buffer.from(`${head}`, 'latin1');
      expect(readRequestHead(buf, 0, n, new RequestHead()), `${n} bytes`).toBe(HEAD_INCOMPLETE);
    }
    expect(read(head).v).toBe(HEAD_OURS);
  });

  it('reads Connection: close in any case and list form', () => {
    expect(read(`${BASE}Connection: Keep-Alive, CLOSE\r\n\r\n`).h.close).toBe(true);
    expect(read(`${BASE}connection: close\r\n\r\n`).v).toBe(HEAD_OURS);
  });

  it.each([
    ['another method', 'GET /v1/score HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['another path', 'POST /v1/scores HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\n'],
    ['a query string', 'POST /v1/score?x=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\n'],
    ['HTTP/1.0', 'POST /v1/score HTTP/1.0\r\nHost: x\r\nContent-Length: 1\r\n\r\n'],
    ['a leading empty line', '\r\nPOST /v1/score HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\n'],
    ['chunked', `${BASE}Transfer-Encoding: chunked\r\n\r\n`],
    ['Expect', `${BASE}Expect: 100-continue\r\n\r\n`],
    ['Upgrade', `${BASE}Upgrade: h2c\r\n\r\n`],
    ['Connection: upgrade', `${BASE}Connection: upgrade\r\n\r\n`],
    ['two Content-Lengths', `${BASE}content-length: 12\r\n\r\n`],
    ['two Content-Types', `${BASE}content-type: text/plain\r\n\r\n`],
    ['two request ids', `${BASE}x-request-id: a\r\nx-request-id: b\r\n\r\n`],
    ['two Authorizations', `${BASE}authorization: a\r\nAuthorization: b\r\n\r\n`],
    ['no Host', 'POST /v1/score HTTP/1.1\r\nContent-Length: 1\r\n\r\n'],
    ['two Hosts', `${BASE}Host: y\r\n\r\n`],
    ['no Content-Length', 'POST /v1/score HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['a signed Content-Length', 'POST /v1/score HTTP/1.1\r\nHost: x\r\nContent-Length: +1\r\n\r\n'],
    ['a Content-Length list', 'POST /v1/score HTTP/1.1\r\nHost: x\r\nContent-Length: 1, 1\r\n\r\n'],
    ['a 16-digit Content-Length', 'POST /v1/score HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000000000\r\n\r\n'],
    ['an empty Content-Length', 'POST /v1/score HTTP/1.1\r\nHost: x\r\nContent-Length: \r\n\r\n'],
    ['obs-fold', `${BASE}x-a: 1\r\n 2\r\n\r\n`],
    ['a bare LF', `${BASE}x-a: 1\n\r\n`],
    ['a bare LF ending the head', `${BASE}\n`],
    ['a CR inside a value', `${BASE}x-a: 1\r2\r\n\r\n`],
    ['a NUL in a value', `${BASE}x-a: 1\u00002\r\n\r\n`],
    ['a space before the colon', `${BASE}x-a : 1\r\n\r\n`],
    ['an empty name', `${BASE}: 1\r\n\r\n`],
    ['a name with a non-token byte', `${BASE}x(a): 1\r\n\r\n`],
  ])('leaves %s to node:http', (_what, head) => {
    expect(read(head).v).toBe(HEAD_OTHER);
  });

  it('leaves a head longer than node:http allows to node:http, complete or not', () => {
    const long = `${BASE}x-pad: ${'a'.repeat(MAX_HEAD_BYTES)}\r\n\r\n`;
    expect(read(long).v).toBe(HEAD_OTHER);
    expect(read(long.slice(0, MAX_HEAD_BYTES + 10)).v).toBe(HEAD_OTHER);
    expect(read(long.slice(0, MAX_HEAD_BYTES - 10)).v).toBe(HEAD_INCOMPLETE);
  });

  it('keeps obs-text in values it does not read, as node:http does', () => {
    expect(read(`${BASE}x-a: caf\u00e9\r\n\r\n`).v).toBe(HEAD_OURS);
  });

  it('makes no string for the JSON content type and resets what the previous head set', () => {
    const h = new RequestHead();
    const a = Buffer.from(`${BASE}x-request-id: r1\r\nconnection: close\r\n\r\n`, 'latin1');
    expect(readRequestHead(a, 0, a.length, h)).toBe(HEAD_OURS);
    expect(h.requestId).toBe('r1');
    const b = Buffer.from('POST /v1/score HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\ncontent-type: text/plain; charset=x\r\n\r\n', 'latin1');
    expect(readRequestHead(b, 0, b.length, h)).toBe(HEAD_OURS);
    expect(h.requestId).toBeUndefined();
    expect(h.close).toBe(false);
    expect(h.contentType).toBe('text/plain; charset=x');
    expect(h.contentLength).toBe(3);
  });
});
