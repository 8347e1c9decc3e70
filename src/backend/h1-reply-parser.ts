import { bufferPool } from '../mem/buffer-pool.js';

/**
 * An HTTP/1.1 response read from the bytes a connection receives, in any split: the head is
 * collected (bounded), then the body goes into one pooled buffer (bounded) by Content-Length,
 * chunked coding, or until the connection closes. Interim 1xx responses are skipped.
 *
 * It reads what SGLang (uvicorn) and the emulator send to a scoring POST; anything outside
 * HTTP/1.1 throws H1ProtocolError, and the connection is not reused.
 */
export class H1ProtocolError extends Error {
  readonly code = 'SC_H1_PROTOCOL';
  constructor(message: string) {
    super(message);
    this.name = 'H1ProtocolError';
  }
}

/** A response head larger than this is refused (uvicorn's are ~150 bytes). */
export const MAX_HEAD_BYTES = 16 * 1024;
const MAX_CHUNK_LINE = 1024;

const enum S {
  Head,
  Body,
  ChunkSize,
  ChunkExt,
  ChunkSizeLf,
  ChunkData,
  ChunkDataCr,
  ChunkDataLf,
  Trailer,
  UntilClose,
  Done,
}

const CR = 13;
const LF = 10;
const JSON_TYPE = 'application/json';
const JSON_TYPE_BYTES = Buffer.from(JSON_TYPE);
const HTTP1 = Buffer.from('HTTP/1.');

export class H1ReplyParser {
  status = 0;
  contentType = JSON_TYPE;
  /** The connection may carry another request after this response. */
  keepAlive = true;
  /** Pooled buffer holding the body in [0, length); taken by takeBody(). */
  body: Buffer | null = null;
  length = 0;
  /** Any response byte arrived (a reused connection that failed before this may be retried). */
  started = false;
  private state = S.Head;
  private readonly head = Buffer.allocUnsafe(MAX_HEAD_BYTES);
  private headLen = 0;
  private remaining = 0;
  private chunkLine = 0;
  private trailerLine = 0;

  constructor(private readonly maxBodyBytes: number) {}

  get done(): boolean {
    return this.state === S.Done;
  }

  /** Ready for the next response on the same connection. */
  reset(): void {
    if (this.body !== null) bufferPool.release(this.body);
    this.body = null;
    this.length = 0;
    this.status = 0;
    this.contentType = JSON_TYPE;
    this.keepAlive = true;
    this.started = false;
    this.state = S.Head;
    this.headLen = 0;
    this.remaining = 0;
  }

  /** The body buffer, now the caller's to release. */
  takeBody(): Buffer {
    const b = this.body ?? bufferPool.acquire(1);
    this.body = null;
    return b;
  }

  /**
   * Reads b[start, end); returns how many bytes it used (fewer than given only once the response
   * is done: bytes past it are the caller's to judge). Throws H1ProtocolError.
   */
  feed(b: Uint8Array, start: number, end: number): number {
    if (end > start) this.started = true;
    let p = start;
    while (p < end && this.state !== S.Done) {
      switch (this.state) {
        case S.Head:
          p = this.feedHead(b, p, end);
          break;
        case S.Body: {
          const n = Math.min(this.remaining, end - p);
          this.append(b, p, n);
          p += n;
          this.remaining -= n;
          if (this.remaining === 0) this.state = S.Done;
          break;
        }
        case S.UntilClose:
          this.append(b, p, end - p);
          p = end;
          break;
        default:
          p = this.feedChunked(b, p, end);
      }
    }
    return p - start;
  }

  /** The connection closed: completes a body that runs until close, else throws. */
  end(): void {
    if (this.state === S.UntilClose) {
      this.state = S.Done;
      return;
    }
    if (this.state !== S.Done) throw new H1ProtocolError(this.started ? 'the backend closed the connection mid-response' : 'the backend closed the connection without a response');
  }

  private feedHead(b: Uint8Array, p: number, end: number): number {
    const head = this.head;
    while (p < end) {
      if (this.headLen === MAX_HEAD_BYTES) throw new H1ProtocolError(`response head over ${MAX_HEAD_BYTES} bytes`);
      const c = b[p++] as number;
      head[this.headLen++] = c;
      const n = this.headLen;
      if (c === LF && n >= 4 && head[n - 2] === CR && head[n - 3] === LF && head[n - 4] === CR) {
        this.parseHead(n);
        return p;
      }
    }
    return p;
  }

  private parseHead(n: number): void {
    const h = this.head;
    // "HTTP/1.x NNN"
    if (n < 12 || !bytesAre(h, 0, HTTP1, 7) || (h[7] !== 0x30 && h[7] !== 0x31) || h[8] !== 0x20) throw new H1ProtocolError('not an HTTP/1.x response');
    const d0 = (h[9] as number) - 0x30;
    const d1 = (h[10] as number) - 0x30;
    const d2 = (h[11] as number) - 0x30;
    if (d0 >>> 0 > 9 || d1 >>> 0 > 9 || d2 >>> 0 > 9 || d0 < 1 || (n > 12 && h[12] !== 0x20 && h[12] !== CR)) throw new H1ProtocolError('bad status line');
    const status = d0 * 100 + d1 * 10 + d2;
    const http10 = h[7] === 0x30;
    let contentLength = -1;
    let chunked = false;
    let close = false;
    let keepAliveSaid = false;
    // Header lines: [ls, le) without CRLF.
    let ls = lineEnd(h, 0, n) + 2;
    while (ls < n - 2) {
      const le = lineEnd(h, ls, n);
      const colon = h.indexOf(0x3a, ls);
      if (colon < 0 || colon >= le || colon === ls) throw new H1ProtocolError('bad header line');
      let vs = colon + 1;
      let ve = le;
      while (vs < ve && (h[vs] === 0x20 || h[vs] === 9)) vs++;
      while (ve > vs && (h[ve - 1] === 0x20 || h[ve - 1] === 9)) ve--;
      const nameLen = colon - ls;
      if (nameLen === 14 && nameIs(h, ls, 'content-length')) {
        const v = parseLength(h, vs, ve);
        if (contentLength >= 0 && v !== contentLength) throw new H1ProtocolError('conflicting Content-Length');
        contentLength = v;
      } else if (nameLen === 17 && nameIs(h, ls, 'transfer-encoding')) {
        const v = h.toString('latin1', vs, ve).toLowerCase();
        if (!/(^|,)\s*chunked$/.test(v)) throw new H1ProtocolError(`unsupported Transfer-Encoding: ${v}`);
        chunked = true;
      } else if (nameLen === 10 && nameIs(h, ls, 'connection')) {
        // The usual values read in place: no string per reply.
        if (ve - vs === 10 && nameIs(h, vs, 'keep-alive')) keepAliveSaid = true;
        else if (ve - vs === 5 && nameIs(h, vs, 'close')) close = true;
        else {
          const v = h.toString('latin1', vs, ve).toLowerCase();
          if (/(^|,)\s*close\s*(,|$)/.test(v)) close = true;
          if (/(^|,)\s*keep-alive\s*(,|$)/.test(v)) keepAliveSaid = true;
        }
      } else if (nameLen === 12 && nameIs(h, ls, 'content-type')) {
        // The usual value is kept as a constant: no string per reply.
        this.contentType = ve - vs === JSON_TYPE_BYTES.length && bytesAre(h, vs, JSON_TYPE_BYTES, JSON_TYPE_BYTES.length) ? JSON_TYPE : h.toString('latin1', vs, ve);
      }
      ls = le + 2;
    }
    if (status >= 100 && status < 200) {
      // An interim response (100 Continue, 103 Early Hints): the real one follows.
      if (status === 101) throw new H1ProtocolError('unexpected 101 Switching Protocols');
      this.headLen = 0;
      this.contentType = JSON_TYPE;
      return;
    }
    this.status = status;
    // HTTP/1.0 keeps the connection only when the server says keep-alive.
    this.keepAlive = http10 ? keepAliveSaid && !close : !close;
    if (status === 204 || status === 304) {
      this.state = S.Done;
      return;
    }
    if (chunked) {
      // A length beside chunked coding is ignored (RFC 9112 §6.3), but such a peer is not trusted again.
      if (contentLength >= 0) this.keepAlive = false;
      this.state = S.ChunkSize;
      this.remaining = 0;
      this.chunkLine = 0;
      return;
    }
    if (contentLength >= 0) {
      if (contentLength > this.maxBodyBytes) throw new H1ProtocolError(`reply of ${contentLength} bytes is over the ${this.maxBodyBytes}-byte bound`);
      this.body = bufferPool.acquire(Math.max(1, contentLength));
      this.remaining = contentLength;
      this.state = contentLength === 0 ? S.Done : S.Body;
      return;
    }
    this.keepAlive = false;
    this.state = S.UntilClose;
  }

  private feedChunked(b: Uint8Array, p: number, end: number): number {
    while (p < end) {
      const c = b[p] as number;
      switch (this.state) {
        case S.ChunkSize: {
          const v = hexValue(c);
          if (v >= 0) {
            if (this.remaining > this.maxBodyBytes) throw new H1ProtocolError(`chunk over the ${this.maxBodyBytes}-byte bound`);
            this.remaining = this.remaining * 16 + v;
            if (++this.chunkLine > MAX_CHUNK_LINE) throw new H1ProtocolError('chunk size line too long');
            p++;
            break;
          }
          if (this.chunkLine === 0) throw new H1ProtocolError('bad chunk size');
          if (c === CR) this.state = S.ChunkSizeLf;
          else if (c === 0x3b || c === 0x20 || c === 9) this.state = S.ChunkExt;
          else throw new H1ProtocolError('bad chunk size');
          p++;
          break;
        }
        case S.ChunkExt:
          if (++this.chunkLine > MAX_CHUNK_LINE) throw new H1ProtocolError('chunk size line too long');
          if (c === CR) this.state = S.ChunkSizeLf;
          else if (c === LF) throw new H1ProtocolError('bad chunk line ending');
          p++;
          break;
        case S.ChunkSizeLf:
          if (c !== LF) throw new H1ProtocolError('bad chunk line ending');
          p++;
          this.chunkLine = 0;
          if (this.remaining === 0) {
            this.state = S.Trailer;
            this.trailerLine = 0;
          } else {
            if (this.length + this.remaining > this.maxBodyBytes) throw new H1ProtocolError(`reply over the ${this.maxBodyBytes}-byte bound`);
            this.state = S.ChunkData;
          }
          break;
        case S.ChunkData: {
          const n = Math.min(this.remaining, end - p);
          this.append(b, p, n);
          p += n;
          this.remaining -= n;
          if (this.remaining === 0) this.state = S.ChunkDataCr;
          break;
        }
        case S.ChunkDataCr:
          if (c !== CR) throw new H1ProtocolError('chunk data not followed by CRLF');
          this.state = S.ChunkDataLf;
          p++;
          break;
        case S.ChunkDataLf:
          if (c !== LF) throw new H1ProtocolError('chunk data not followed by CRLF');
          this.state = S.ChunkSize;
          p++;
          break;
        case S.Trailer:
          // Trailer fields are read and dropped; an empty line ends the message.
          p++;
          if (c === LF) {
            if (this.trailerLine <= 1) {
              this.state = S.Done;
              if (this.body === null) this.body = bufferPool.acquire(1);
              return p;
            }
            this.trailerLine = 0;
          } else if (++this.trailerLine > MAX_HEAD_BYTES) throw new H1ProtocolError('trailer too long');
          break;
        default:
          return p;
      }
    }
    return p;
  }

  private append(b: Uint8Array, p: number, n: number): void {
    if (n === 0) return;
    const need = this.length + n;
    if (need > this.maxBodyBytes) throw new H1ProtocolError(`reply over the ${this.maxBodyBytes}-byte bound`);
    let buf = this.body;
    if (buf === null) buf = this.body = bufferPool.acquire(Math.max(4096, need));
    else if (need > buf.length) {
      const next = bufferPool.acquire(Math.min(this.maxBodyBytes, Math.max(buf.length * 2, need)));
      buf.copy(next, 0, 0, this.length);
      bufferPool.release(buf);
      this.body = buf = next;
    }
    // A byte loop for a scoring reply's few hundred bytes: set() would need a subarray view (an allocation).
    if (n <= 1024) for (let i = 0, at = this.length; i < n; i++) buf[at + i] = b[p + i] as number;
    else buf.set(b.subarray(p, p + n), this.length);
    this.length = need;
  }
}

function lineEnd(h: Buffer, from: number, n: number): number {
  for (let i = from; i < n - 1; i++) if (h[i] === CR && h[i + 1] === LF) return i;
  return n;
}

/** Whether h[at, at + n) is ref[0, n): Buffer.compare with ranges makes objects per call. */
function bytesAre(h: Buffer, at: number, ref: Uint8Array, n: number): boolean {
  for (let i = 0; i < n; i++) if (h[at + i] !== ref[i]) return false;
  return true;
}

/** Whether h[at, at + name.length) is `name` (lower case ASCII), ignoring case. */
function nameIs(h: Buffer, at: number, name: string): boolean {
  for (let i = 0; i < name.length; i++) {
    const c = h[at + i] as number;
    if ((c >= 0x41 && c <= 0x5a ? c | 0x20 : c) !== name.charCodeAt(i)) return false;
  }
  return true;
}

function parseLength(h: Buffer, s: number, e: number): number {
  if (s === e || e - s > 15) throw new H1ProtocolError('bad Content-Length');
  let v = 0;
  for (let i = s; i < e; i++) {
    const d = (h[i] as number) - 0x30;
    if (d >>> 0 > 9) throw new H1ProtocolError('bad Content-Length');
    v = v * 10 + d;
  }
  return v;
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  if (l >= 0x61 && l <= 0x66) return l - 0x61 + 10;
  return -1;
}
