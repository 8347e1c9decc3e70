/**
 * A strict reader of HTTP/1.1 request heads, for the one request shape the H1 front serves
 * itself: `POST /v1/score HTTP/1.1` with a Content-Length body. It decides per head whether the
 * front takes the request (OURS), needs more bytes (INCOMPLETE), or leaves it, and the rest of
 * the connection, to node:http (OTHER): any other method, path or version, chunked bodies,
 * Expect, Upgrade, unusual Connection values, a repeated header the front reads, a missing or
 * repeated Host, obs-fold, bare LF, or any byte a header may not hold. Leaving is always safe,
 * since node:http then parses the same bytes with its own (llhttp's) rules and answers as it
 * always did, so this reader only has to be right about what it accepts.
 */
export const HEAD_INCOMPLETE = 0;
export const HEAD_OURS = 1;
export const HEAD_OTHER = 2;
export type HeadVerdict = typeof HEAD_INCOMPLETE | typeof HEAD_OURS | typeof HEAD_OTHER;

/** node:http's default --max-http-header-size: a longer head goes to node, which answers 431. */
export const MAX_HEAD_BYTES = 16 * 1024;

const REQUEST_LINE = Buffer.from('POST /v1/score HTTP/1.1\r\n', 'latin1');

/** RFC 9110 tchar. */
const TCHAR = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~") TCHAR[c.charCodeAt(0)] = 1;
for (let c = 0x30; c <= 0x39; c++) TCHAR[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) TCHAR[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) TCHAR[c] = 1;

/** field-value octets: HTAB, SP, VCHAR, obs-text. */
const VCHAR = new Uint8Array(256);
VCHAR[0x09] = 1;
for (let c = 0x20; c <= 0x7e; c++) VCHAR[c] = 1;
for (let c = 0x80; c <= 0xff; c++) VCHAR[c] = 1;

// The header names the front reads, by index; lowercase.
const NAMES = [
  'content-length',
  'content-type',
  'x-request-id',
  'authorization',
  'traceparent',
  'x-scorecar-deadline-ms',
  'x-scorecar-priority',
  'host',
  'connection',
  'transfer-encoding',
  'expect',
  'upgrade',
].map((n) => Buffer.from(n, 'latin1'));
const H_CONTENT_LENGTH = 0;
const H_CONTENT_TYPE = 1;
const H_REQUEST_ID = 2;
const H_AUTHORIZATION = 3;
const H_TRACEPARENT = 4;
const H_DEADLINE = 5;
const H_PRIORITY = 6;
const H_HOST = 7;
const H_CONNECTION = 8;
/** From here on, any occurrence leaves the request to node:http. */
const H_FIRST_REFUSED = 9;

const JSON_TYPE = Buffer.from('application/json', 'latin1');
const JSON_TYPE_STRING = 'application/json';

/** What the front acts on in one head; strings only for the headers the routes read. */
export class RequestHead {
  /** Bytes of the head, its closing CRLF CRLF included. */
  length = 0;
  contentLength = 0;
  /** The client asked to close the connection after this request. */
  close = false;
  contentType: string | undefined = undefined;
  requestId: string | undefined = undefined;
  authorization: string | undefined = undefined;
  traceparent: string | undefined = undefined;
  deadline: string | undefined = undefined;
  priority: string | undefined = undefined;
  /** Bit i: header NAMES[i] seen (repeats are refused). */
  seen = 0;

  reset(): void {
    this.length = 0;
    this.contentLength = 0;
    this.close = false;
    this.contentType = undefined;
    this.requestId = undefined;
    this.authorization = undefined;
    this.traceparent = undefined;
    this.deadline = undefined;
    this.priority = undefined;
    this.seen = 0;
  }
}

/** buf[at, at+len) equals the lowercase name `lit`, ASCII letters compared without case. */
function nameIs(buf: Buffer, at: number, len: number, lit: Buffer): boolean {
  if (len !== lit.length) return false;
  // tchar bytes only reach here, so OR-ing 0x20 lowercases letters and maps no other tchar onto a letter or '-'.
  for (let i = 0; i < len; i++) if (((buf[at + i] as number) | 0x20) !== lit[i]) return false;
  return true;
}

function nameIndex(buf: Buffer, at: number, len: number): number {
  for (let i = 0; i < NAMES.length; i++) if (nameIs(buf, at, len, NAMES[i] as Buffer)) return i;
  return -1;
}

/** Connection: a comma-separated list of keep-alive / close (any case); -1 for anything else. 1: close. */
function connectionValue(buf: Buffer, a: number, b: number): number {
  let close = 0;
  let i = a;
  while (i < b) {
    while (i < b && (buf[i] === 0x20 || buf[i] === 0x09 || buf[i] === 0x2c)) i++;
    if (i === b) break;
    let j = i;
    while (j < b && buf[j] !== 0x2c && buf[j] !== 0x20 && buf[j] !== 0x09) j++;
    if (nameIs(buf, i, j - i, CLOSE)) close = 1;
    else if (!nameIs(buf, i, j - i, KEEP_ALIVE)) return -1;
    i = j;
  }
  return close;
}
const CLOSE = Buffer.from('close', 'latin1');
const KEEP_ALIVE = Buffer.from('keep-alive', 'latin1');

function sameBytes(buf: Buffer, a: number, b: number, lit: Buffer): boolean {
  if (b - a !== lit.length) return false;
  for (let i = 0; i < lit.length; i++) if (buf[a + i] !== lit[i]) return false;
  return true;
}

/**
 * Reads the head starting at buf[start] (bytes up to `end` are valid) into `out`. OURS also
 * requires exactly one Host and one Content-Length.
 */
export function readRequestHead(buf: Buffer, start: number, end: number, out: RequestHead): HeadVerdict {
  out.reset();
  const line = REQUEST_LINE.length;
  const have = Math.min(end - start, line);
  for (let i = 0; i < have; i++) if (buf[start + i] !== REQUEST_LINE[i]) return HEAD_OTHER;
  if (have < line) return HEAD_INCOMPLETE;
  const limit = Math.min(end, start + MAX_HEAD_BYTES);
  // Running out of bytes: a head cut at the size limit is node's to refuse, a shorter one waits for more.
  const short = end - start >= MAX_HEAD_BYTES ? HEAD_OTHER : HEAD_INCOMPLETE;
  let i = start + line;
  for (;;) {
    if (i >= limit) return short;
    if (buf[i] === 0x0d) {
      if (i + 1 >= limit) return short;
      if (buf[i + 1] !== 0x0a) return HEAD_OTHER;
      out.length = i + 2 - start;
      // One Host and one Content-Length: anything else is node's to answer.
      return (out.seen & (1 << H_HOST)) !== 0 && (out.seen & (1 << H_CONTENT_LENGTH)) !== 0 ? HEAD_OURS : HEAD_OTHER;
    }
    const nameStart = i;
    while (i < limit && TCHAR[buf[i] as number] === 1) i++;
    if (i >= limit) return short;
    if (buf[i] !== 0x3a || i === nameStart) return HEAD_OTHER;
    const nameLen = i - nameStart;
    i++;
    while (i < limit && (buf[i] === 0x20 || buf[i] === 0x09)) i++;
    const valueStart = i;
    while (i < limit && buf[i] !== 0x0d) {
      if (VCHAR[buf[i] as number] !== 1) return HEAD_OTHER;
      i++;
    }
    if (i + 1 >= limit) return short;
    if (buf[i + 1] !== 0x0a) return HEAD_OTHER;
    let valueEnd = i;
    while (valueEnd > valueStart && (buf[valueEnd - 1] === 0x20 || buf[valueEnd - 1] === 0x09)) valueEnd--;
    i += 2;
    // obs-fold (a line starting with SP or HTAB) is refused by the name loop: neither is a tchar.
    const h = nameIndex(buf, nameStart, nameLen);
    if (h < 0) continue;
    if (h >= H_FIRST_REFUSED) return HEAD_OTHER;
    const bit = 1 << h;
    if ((out.seen & bit) !== 0) return HEAD_OTHER;
    out.seen |= bit;
    switch (h) {
      case H_CONTENT_LENGTH: {
        const n = valueEnd - valueStart;
        if (n === 0 || n > 15) return HEAD_OTHER;
        let v = 0;
        for (let k = valueStart; k < valueEnd; k++) {
          const d = (buf[k] as number) - 0x30;
          if (d < 0 || d > 9) return HEAD_OTHER;
          v = v * 10 + d;
        }
        out.contentLength = v;
        break;
      }
      case H_CONTENT_TYPE:
        // The type every client sends, without a string per request.
        out.contentType = sameBytes(buf, valueStart, valueEnd, JSON_TYPE) ? JSON_TYPE_STRING : buf.toString('latin1', valueStart, valueEnd);
        break;
      case H_REQUEST_ID:
        out.requestId = buf.toString('latin1', valueStart, valueEnd);
        break;
      case H_AUTHORIZATION:
        out.authorization = buf.toString('latin1', valueStart, valueEnd);
        break;
      case H_TRACEPARENT:
        out.traceparent = buf.toString('latin1', valueStart, valueEnd);
        break;
      case H_DEADLINE:
        out.deadline = buf.toString('latin1', valueStart, valueEnd);
        break;
      case H_PRIORITY:
        out.priority = buf.toString('latin1', valueStart, valueEnd);
        break;
      case H_HOST:
        break;
      case H_CONNECTION: {
        const c = connectionValue(buf, valueStart, valueEnd);
        if (c < 0) return HEAD_OTHER;
        out.close = c === 1;
        break;
      }
    }
  }
}
