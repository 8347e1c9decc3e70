import { type IncomingHttpHeaders, type OutgoingHttpHeaders, STATUS_CODES, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { bufferPool } from '../../mem/buffer-pool.js';
import { ByteWriter, lit } from '../../mem/byte-writer.js';
import { writeTo } from '../../mem/socket-write.js';
import { type Timing, putTimingHeaders, writeTimingHeaders } from '../timing-headers.js';
import type { HttpReply, HttpRequestView } from './exchange.js';
import { READ_BUFFER_BYTES, adopt } from './own-read-socket.js';
import { HEAD_INCOMPLETE, HEAD_OTHER, MAX_HEAD_BYTES, RequestHead, readRequestHead } from './h1-request-head.js';
import { copyBytes } from '../../mem/copy-bytes.js';

/**
 * scorecar's own HTTP/1.1 server code for its hot route, POST /v1/score, in front of node:http.
 *
 * Why not node:http for it: node:http alone allocates 6.7 KB of heap per request of the floor
 * body (IncomingMessage, ServerResponse, their streams, header objects and strings; bench:hotpath's
 * http-bare variant), more than the whole per-request budget of the design, while a net server
 * reading the same requests allocated 0.96 KB (a scratch A/B of both, 3 interleaved rounds, 1.15-1.5x
 * the requests per CPU-second). So the front takes every connection node:http's server accepts
 * (it replaces that server's 'connection' listener), reads request heads itself, and serves the
 * requests it fully understands (h1-request-head.ts); at the first request it does not, or one it
 * may not take (draining, no valid key, a body over --max-body-bytes), it hands the connection, with
 * the bytes it has read and not used, to node:http, which serves it from then on with all of its
 * own rules. A handed-over connection never comes back: mixed traffic on one connection is
 * correct, only not fast.
 *
 * What node:http bounded, the front bounds the same way: a head within --headers-timeout-ms and
 * 16 KiB, a whole request within --request-timeout-ms (408 otherwise), a body within
 * --max-body-bytes and read into a pooled buffer that grows only with the bytes that arrive, idle
 * keep-alive connections closed after 75 s, one request served at a time per connection (pipelined
 * requests wait, at most 32 KiB of them read ahead before reading pauses), and reading paused while
 * the client does not read its answers.
 */

/** The scoring route the front serves; it answers each request exactly once through the reply. */
export interface FrontRoute {
  handle(req: HttpRequestView, res: HttpReply, body: Buffer, length: number, requestId: string, trace: null): unknown;
}

export interface H1FrontOptions {
  /** node:http's server: it listens, and serves every connection the front hands over. */
  server: Server;
  route: FrontRoute;
  /** Whether the front may serve this request now (not draining, the key is valid); else node:http answers it. */
  admits(req: HttpRequestView): boolean;
  /** The request id: the client's when valid, else a new one (observe/request-id.ts). */
  requestId(header: string | undefined): string;
  /** A request taken and one answered (or its client gone): the HTTP API's in-flight count. */
  started(): void;
  finished(): void;
  /** A connection closed with 408 for a head or request over its time. */
  timedOut(what: 'headers' | 'request'): void;
  /** A route threw instead of answering (a bug): the connection is closed. */
  failed(e: unknown): void;
  maxBodyBytes: number;
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
}

type ConnectionListener = (this: Server, socket: Socket) => void;

const S_HEAD = 0;
const S_BODY = 1;
const S_BUSY = 2;
const S_DONE = 3;

/** Bytes a connection reads ahead of the request it serves (pipelined requests) before it pauses. */
const READ_AHEAD = 2 * MAX_HEAD_BYTES;
/** A body buffer is first sized from Content-Length up to this, then grows with what arrives. */
const FIRST_BODY_MAX = 64 * 1024;

const TIMEOUT_408 = 'HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n';
const BAD_REQUEST_400 = 'HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n';
const CRLF = lit('\r\n');
const COLON = lit(': ');
const CLOSE_TAIL = lit('Connection: close\r\n\r\n');
const CONTENT_LENGTH = lit('content-length: ');
const TIMED_HEAD = lit('content-type: application/json\r\ncontent-length: ');
const REQUEST_ID = lit('x-request-id: ');

const statusLines = new Map<number, Buffer>();
function statusLine(code: number): Buffer {
  let b = statusLines.get(code);
  if (b === undefined) {
    b = lit(`HTTP/1.1 ${code} ${STATUS_CODES[code] ?? 'unknown'}\r\n`);
    if (statusLines.size < 128) statusLines.set(code, b);
  }
  return b;
}

// Node's Date header, remade once a second as node:http does.
let dateSecond = -1;
let dateLine = lit('');
function currentDateLine(): Buffer {
  const now = Date.now();
  const s = Math.floor(now / 1000);
  if (s !== dateSecond) {
    dateSecond = s;
    dateLine = lit(`Date: ${new Date(now).toUTCString()}\r\n`);
  }
  return dateLine;
}

/** A header value node:http would also send: no control characters but HTAB, nothing above 0xff. */
function checkValue(name: string, v: string): void {
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c === 0x7f || c > 0xff) throw new TypeError(`Invalid character in header content ["${name}"]`);
  }
}

/**
 * One request the front serves: the request view and the reply in one object (the routes take
 * both), made per request because a route may still look at it after the next request on its
 * connection has begun.
 */
class FrontExchange implements HttpRequestView, HttpReply {
  readonly method = 'POST';
  readonly url = '/v1/score';
  readonly headers: IncomingHttpHeaders;
  statusCode = 200;
  headersSent = false;
  /** The client went before the answer was written. */
  gone = false;
  ended = false;
  private out: OutgoingHttpHeaders | null = null;
  /** endTimed's request id and figures, while its head is written. */
  private timedId = '';
  private timing: Timing | null = null;
  /** Headers set before writeHead (name, value pairs); rare: failures only. */
  private early: (string | number)[] | null = null;
  private close0: (() => void) | null = null;
  private close1: (() => void) | null = null;

  constructor(
    readonly conn: FrontConnection,
    head: RequestHead,
  ) {
    // One shape for every request (absent headers undefined), so these objects share a map.
    this.headers = {
      'content-type': head.contentType,
      'x-request-id': head.requestId,
      authorization: head.authorization,
      traceparent: head.traceparent,
      'x-scorecar-deadline-ms': head.deadline,
      'x-scorecar-priority': head.priority,
    };
  }

  get destroyed(): boolean {
    return this.gone || this.conn.socket.destroyed;
  }

  setHeader(name: string, value: string | number): this {
    if (this.headersSent) throw new Error('Cannot set headers after they are sent to the client');
    if (typeof value === 'string') checkValue(name, value);
    (this.early ??= []).push(name.toLowerCase(), value);
    return this;
  }

  writeHead(status: number, headers?: OutgoingHttpHeaders): this {
    if (this.headersSent) throw new Error('Cannot write headers after they are sent to the client');
    // Checked here, as node:http's writeHead does, so that a bad value fails before the head counts as sent.
    if (headers !== undefined) {
      for (const name in headers) {
        const v = headers[name];
        if (v === undefined) continue;
        if (typeof v === 'string') checkValue(name, v);
        else if (typeof v !== 'number') throw new TypeError(`h1-front: header ${name} must be a string or a number`);
      }
    }
    this.statusCode = status;
    this.out = headers ?? null;
    this.headersSent = true;
    return this;
  }

  end(body: Buffer, written?: () => void): this {
    return this.endPart(body, body.length, written);
  }

  /** end() of body[0, length). */
  private endPart(body: Buffer, length: number, written?: () => void): this {
    if (this.ended || this.gone) {
      written?.();
      return this;
    }
    this.ended = true;
    if (!this.headersSent) this.writeHead(this.statusCode);
    this.conn.answer(this, body, length);
    written?.();
    return this;
  }

  endTimed(body: Buffer, length: number, written: () => void, requestId: string, timing: Timing): this {
    if (this.ended || this.gone || this.headersSent || this.early !== null) {
      // The general path for whatever is unusual: the client gone (end() only runs `written`),
      // headers set early (merged as writeHead merges them), or a head already written (writeHead
      // throws, as it would for the route's own writeHead call).
      if (!this.ended && !this.gone) this.writeHead(200, putTimingHeaders({ 'content-type': 'application/json', 'content-length': length, 'x-request-id': requestId }, timing));
      return this.endPart(body, length, written);
    }
    checkValue('x-request-id', requestId);
    // As writeHead, but the head's headers stay numbers until writeHeadTo writes them; end()
    // writes it at once.
    this.statusCode = 200;
    this.headersSent = true;
    this.timedId = requestId;
    this.timing = timing;
    try {
      return this.endPart(body, length, written);
    } finally {
      this.timing = null;
      this.timedId = '';
    }
  }

  on(_event: 'close', listener: () => void): this {
    if (this.close0 === null) this.close0 = listener;
    else if (this.close1 === null) this.close1 = listener;
    else throw new Error('h1-front: more than two close listeners on one exchange');
    return this;
  }

  once(event: 'close', listener: () => void): this {
    // 'close' is emitted at most once.
    return this.on(event, listener);
  }

  off(_event: 'close', listener: () => void): this {
    if (this.close0 === listener) this.close0 = null;
    else if (this.close1 === listener) this.close1 = null;
    return this;
  }

  /** @internal the client went before the answer: listeners learn it once. */
  closed(): void {
    if (this.ended || this.gone) return;
    this.gone = true;
    const a = this.close0;
    const b = this.close1;
    this.close0 = this.close1 = null;
    a?.();
    b?.();
  }

  /** @internal the head: status line, the route's headers, Date, Connection, as node:http writes them. */
  writeHeadTo(w: ByteWriter, bodyLength: number, close: boolean, keepAliveTail: Buffer): boolean {
    w.raw(statusLine(this.statusCode));
    let lengthSent = false;
    let closeAsked = close;
    const timing = this.timing;
    if (timing !== null) {
      // endTimed's head (it has no early or route headers): the headers /v1/score's writeHead
      // would carry, in the same order.
      w.raw(TIMED_HEAD);
      w.int(bodyLength);
      w.raw(CRLF);
      w.raw(REQUEST_ID);
      w.ascii(this.timedId);
      w.raw(CRLF);
      writeTimingHeaders(w, timing);
      lengthSent = true;
    }
    const early = this.early;
    if (early !== null) {
      for (let i = 0; i < early.length; i += 2) {
        const name = early[i] as string;
        if (this.out !== null && this.out[name] !== undefined) continue;
        closeAsked = this.header(w, name, early[i + 1] as string | number) || closeAsked;
        if (name === 'content-length') lengthSent = true;
      }
    }
    const out = this.out;
    if (out !== null) {
      for (const name in out) {
        const v = out[name];
        if (v === undefined) continue;
        closeAsked = this.header(w, name, v as string | number) || closeAsked;
        if (name === 'content-length') lengthSent = true;
      }
    }
    if (!lengthSent) {
      w.raw(CONTENT_LENGTH);
      w.int(bodyLength);
      w.raw(CRLF);
    }
    w.raw(currentDateLine());
    w.raw(closeAsked ? CLOSE_TAIL : keepAliveTail);
    return closeAsked;
  }

  /** Writes one header; true when it is `connection: close` (node then adds no Connection of its own). */
  private header(w: ByteWriter, name: string, v: string | number): boolean {
    if (name === 'connection') {
      // Only close is ever set by scorecar; the tail writes it.
      return String(v).toLowerCase() === 'close';
    }
    w.ascii(name);
    w.raw(COLON);
    if (typeof v === 'number' && Number.isInteger(v) && Math.abs(v) < 2147483648) w.int(v);
    else w.ascii(String(v));
    w.raw(CRLF);
    return false;
  }
}

/** One client connection while the front serves it. */
class FrontConnection {
  state = S_HEAD;
  /**
   * Bytes read and not yet used: a partial head, or requests read ahead of the one being served.
   * Pooled; reading pauses once it holds READ_AHEAD bytes, so it never holds more than that and
   * one socket read.
   */
  private inbox: Buffer | null = null;
  private inLen = 0;
  private body: Buffer | null = null;
  private bodyLen = 0;
  private bodyWant = 0;
  private x: FrontExchange | null = null;
  private readonly head = new RequestHead();
  /** performance.now() when the current head began, or when the connection went idle. */
  since: number;
  /** No request was served yet: the head timeout applies to the wait for the first byte, as in node:http. */
  private fresh = true;
  /** Answers the socket has not yet taken, oldest first. */
  private readonly outs: ByteWriter[] = [];
  private closeAfter = false;
  /** Inbox bytes already seen to hold no end of head (CR LF CR LF): a trickled head is scanned once, not once per read. */
  private scanned = 0;
  private consuming = false;
  private paused = false;
  /** An answer waits in the socket (the client is not reading): no further request is read until it is written. */
  private blocked = false;

  readonly onData = (c: Buffer): void => this.data(c, c.length);
  /** An adopted socket's read: `bytes` bytes at the start of the front's shared read buffer. */
  readonly onRead = (bytes: number, buf: Buffer): boolean => {
    // False stops reading (a handed-over socket's reader is behind): the socket's own _read restarts it.
    if (this.handedOver) return this.forward(buf, bytes);
    this.data(buf, bytes);
    return true;
  };
  readonly onEnd = (): void => this.ended();
  readonly onClose = (): void => this.closed();
  /**
   * Bound once: a socket write done (or cancelled by a destroy), its writer back to the front's
   * free list; the last one unblocks reading. Writes complete in order, Writable's or direct.
   */
  readonly wrote = (err?: Error | null): void => {
    const w = this.outs.shift();
    if (w !== undefined) this.front.giveWriter(w);
    if (err != null) this.socket.destroy(err);
    else if (this.blocked && this.outs.length === 0) this.drained();
  };

  /** node:http serves the connection now. */
  private handedOver = false;

  constructor(
    readonly front: H1Front,
    public socket: Socket,
  ) {
    this.since = performance.now();
  }

  get idle(): boolean {
    return this.state === S_HEAD && this.inLen === 0;
  }

  /** chunk[0, n) arrived; it is read now, and what must wait is copied (chunk may be the shared read buffer). */
  private data(chunk: Buffer, n: number): void {
    if (this.state === S_DONE) return;
    if (this.inLen === 0 && !this.consuming && !this.blocked) {
      if (this.state === S_HEAD) this.since = performance.now();
      const s = this.run(chunk, 0, n);
      if (s < n && this.state !== S_DONE) this.keep(chunk, s, n);
      return;
    }
    this.keep(chunk, 0, n);
    this.process();
  }

  /**
   * A read after the hand-over reached the front: node:http reads through its own parser, which takes
   * the socket's reads in C++, but gives them back to the socket when it lets go of it (an upgrade,
   * or code that listens for 'data' itself). They arrive as on any socket, each in a Buffer of its own.
   */
  private forward(buf: Buffer, bytes: number): boolean {
    const copy = Buffer.allocUnsafe(bytes);
    buf.copy(copy, 0, 0, bytes);
    return this.socket.push(copy);
  }

  /** Adds src[s, e) to the inbox; reading pauses while the inbox is over READ_AHEAD. */
  private keep(src: Buffer, s: number, e: number): void {
    const n = e - s;
    let inbox = this.inbox;
    if (inbox === null || this.inLen + n > inbox.length) {
      const next = bufferPool.acquire(Math.max(READ_AHEAD, this.inLen + n));
      if (inbox !== null) {
        inbox.copy(next, 0, 0, this.inLen);
        bufferPool.release(inbox);
      }
      this.inbox = inbox = next;
    }
    copyBytes(src, s, e, inbox, this.inLen);
    this.inLen += n;
    if (this.inLen > READ_AHEAD) this.pause();
  }

  /** Serves what the inbox holds, as far as the connection can now. */
  private process(): void {
    if (this.consuming || this.blocked || this.state === S_BUSY || this.state === S_DONE || this.inLen === 0) return;
    const inbox = this.inbox as Buffer;
    const n = this.inLen;
    if (this.state === S_HEAD && n < MAX_HEAD_BYTES) {
      // A head is read only once it is whole (or too long): each read looks at its new bytes only.
      let i = this.scanned > 3 ? this.scanned - 3 : 0;
      while (i + 3 < n && !(inbox[i] === 0x0d && inbox[i + 1] === 0x0a && inbox[i + 2] === 0x0d && inbox[i + 3] === 0x0a)) i++;
      if (i + 3 >= n) {
        this.scanned = n;
        if (this.inLen <= READ_AHEAD) this.resume();
        return;
      }
    }
    const s = this.run(inbox, 0, n);
    if (this.state === S_DONE) {
      // Handed over or closed while reading from the inbox: dropPending() left it to here.
      if (this.inbox !== null) bufferPool.release(this.inbox);
      this.inbox = null;
      return;
    }
    if (s > 0) {
      inbox.copyWithin(0, s, n);
      this.inLen = n - s;
      this.scanned = 0;
    }
    if (this.inLen === 0) {
      bufferPool.release(inbox);
      this.inbox = null;
    }
    if (this.inLen <= READ_AHEAD) this.resume();
  }

  /**
   * Reads src[s, e): heads, bodies, one request after another while none is being served.
   * Returns where it stopped (a partial head, a request being served, or the end).
   */
  private run(src: Buffer, s: number, e: number): number {
    this.consuming = true;
    try {
      while (s < e && !this.blocked) {
        if (this.state === S_BODY) s = this.takeBody(src, s, e);
        else if (this.state === S_HEAD) {
          const at = s;
          s = this.consume(src, s, e);
          if (s === at) break;
        } else break;
      }
    } finally {
      this.consuming = false;
    }
    return s;
  }

  /** Takes the request whose head starts at src[s]; returns s unchanged for a partial head. */
  private consume(src: Buffer, s: number, e: number): number {
    const front = this.front;
    const head = this.head;
    const v = readRequestHead(src, s, e, head);
    if (v === HEAD_INCOMPLETE) return s;
    if (v === HEAD_OTHER) {
      this.handOver(src, s, e);
      return e;
    }
    const x = new FrontExchange(this, head);
    if (head.contentLength > front.opts.maxBodyBytes || !front.opts.admits(x)) {
      // node:http answers these (400 with its limit's message, 503 draining, 401) as before.
      this.handOver(src, s, e);
      return e;
    }
    this.x = x;
    // In flight from here (as node:http counts a request before its body): a drain waits for it.
    front.opts.started();
    this.closeAfter = head.close;
    this.bodyWant = head.contentLength;
    this.bodyLen = 0;
    this.body = bufferPool.acquire(Math.max(1, Math.min(head.contentLength, FIRST_BODY_MAX)));
    this.state = S_BODY;
    return this.takeBody(src, s + head.length, e);
  }

  /** Copies body bytes from src[s, e); dispatches the request once whole. Returns where it stopped. */
  private takeBody(src: Buffer, s: number, e: number): number {
    const n = Math.min(e - s, this.bodyWant - this.bodyLen);
    if (n > 0) {
      let body = this.body as Buffer;
      if (this.bodyLen + n > body.length) {
        // Grows with the bytes that arrive, never past Content-Length (at most --max-body-bytes).
        const next = bufferPool.acquire(Math.min(this.bodyWant, Math.max(body.length * 2, this.bodyLen + n)));
        body.copy(next, 0, 0, this.bodyLen);
        bufferPool.release(body);
        this.body = body = next;
      }
      copyBytes(src, s, s + n, body, this.bodyLen);
      this.bodyLen += n;
    }
    if (this.bodyLen === this.bodyWant) this.dispatch();
    return s + n;
  }

  private dispatch(): void {
    const x = this.x as FrontExchange;
    const body = this.body as Buffer;
    this.body = null;
    this.state = S_BUSY;
    const front = this.front;
    const rid = front.opts.requestId(x.headers['x-request-id'] as string | undefined);
    try {
      front.opts.route.handle(x, x, body, this.bodyLen, rid, null);
    } catch (e) {
      // Routes answer their own failures; a throw here is a bug, kept from taking the process down.
      front.opts.failed(e);
      this.abandon();
      this.shut();
      this.socket.destroy();
    }
  }

  /** @internal x's answer, body[0, length): head and body into one pooled writer, one socket write. */
  answer(x: FrontExchange, body: Buffer, length: number): void {
    if (x !== this.x || this.state !== S_BUSY) return;
    const w = this.front.takeWriter(length + 512);
    let close: boolean;
    try {
      close = x.writeHeadTo(w, length, this.closeAfter, this.front.keepAliveTail);
    } catch (e) {
      // Header values are checked at writeHead; anything else here is a bug: no half answer, no stuck connection.
      w.reset();
      this.front.giveWriter(w);
      this.front.opts.failed(e);
      this.x = null;
      this.front.opts.finished();
      this.shut();
      this.socket.destroy();
      return;
    }
    w.bytes(body, 0, length);
    this.x = null;
    this.fresh = false;
    this.front.opts.finished();
    this.outs.push(w);
    const flowing = writeTo(this.socket, w.view(), this.wrote);
    // A write that failed at once destroyed the socket: 'close' ends the connection.
    if (this.socket.destroyed) return;
    if (close) {
      this.shut();
      this.socket.end();
      return;
    }
    this.state = S_HEAD;
    this.since = performance.now();
    if (!flowing && this.outs.length > 0) {
      // The client is not reading its answers: read nothing more until the socket has written them.
      this.blocked = true;
      this.pause();
      return;
    }
    this.process();
  }

  private drained(): void {
    this.blocked = false;
    if (this.state === S_DONE) return;
    if (this.inLen <= READ_AHEAD) this.resume();
    this.process();
  }

  private pause(): void {
    if (!this.paused) {
      this.paused = true;
      this.socket.pause();
    }
  }

  private resume(): void {
    if (this.paused && !this.socket.writableNeedDrain) {
      this.paused = false;
      this.socket.resume();
    }
  }

  /** node:http serves the connection from src[s, e) (then the inbox's bytes after them, if src is not the inbox) on. */
  private handOver(src: Buffer, s: number, e: number): void {
    const extra = src === this.inbox ? 0 : this.inLen;
    const rest = Buffer.allocUnsafe(e - s + extra);
    src.copy(rest, 0, s, e);
    if (extra > 0) (this.inbox as Buffer).copy(rest, e - s, 0, extra);
    this.state = S_DONE;
    this.handedOver = true;
    this.dropPending();
    const socket = this.socket;
    socket.removeListener('data', this.onData);
    socket.removeListener('end', this.onEnd);
    // onClose stays: it returns the writers of answers the socket had not taken yet.
    this.front.forget(this);
    socket.pause();
    if (rest.length > 0) socket.unshift(rest);
    this.front.handOver(socket);
    socket.resume();
  }

  /** This connection serves nothing more: out of the front's set, its pending bytes given back. The caller ends or destroys the socket. */
  private shut(): void {
    this.state = S_DONE;
    this.front.forget(this);
    this.dropPending();
  }

  /** Gives back the inbox and a partial body (not while run() reads from the inbox: process() does then). */
  private dropPending(): void {
    if (this.inbox !== null && !this.consuming) {
      bufferPool.release(this.inbox);
      this.inbox = null;
    }
    this.inLen = 0;
    this.scanned = 0;
    if (this.body !== null) {
      bufferPool.release(this.body);
      this.body = null;
    }
  }

  /** The request in progress (its body being read, or being served) ends unanswered: counted out once; a route serving it learns it through 'close'. */
  private abandon(): void {
    const x = this.x;
    if (x === null) return;
    this.x = null;
    this.front.opts.finished();
    if (this.state === S_BUSY) x.closed();
  }

  /**
   * The client sent FIN. As node:http (whose httpAllowHalfOpen is off): a request in progress is
   * abandoned and the connection ends; a partial head or body, which can no longer complete, is
   * answered 400 as node:http's parser error would be.
   */
  private ended(): void {
    if (this.state === S_DONE) return;
    const partial = this.state === S_BODY || this.inLen > 0;
    this.abandon();
    this.shut();
    const socket = this.socket;
    if (partial) {
      if (socket.writable) socket.end(BAD_REQUEST_400);
      socket.destroy();
    } else socket.end();
  }

  private closed(): void {
    if (this.state !== S_DONE) this.abandon();
    this.x = null;
    this.shut();
    // Answers never taken by the socket: their writers go back (each is taken once, from the queue).
    for (let w = this.outs.shift(); w !== undefined; w = this.outs.shift()) this.front.giveWriter(w);
  }

  /** The periodic check: a head or request over its time gets 408; an idle connection past keep-alive closes. */
  check(now: number): void {
    // A client not reading its answers is not timed out here (node:http does not either); reading is paused.
    if (this.blocked) return;
    const o = this.front.opts;
    if (this.state === S_HEAD) {
      if (this.inLen === 0 && !this.fresh) {
        if (now - this.since > o.keepAliveTimeoutMs) this.socket.destroy();
      } else if (now - this.since > o.headersTimeoutMs) this.timeout('headers');
    } else if (this.state === S_BODY && now - this.since > o.requestTimeoutMs) this.timeout('request');
  }

  private timeout(what: 'headers' | 'request'): void {
    this.abandon();
    this.shut();
    const socket = this.socket;
    if (socket.writable) socket.end(TIMEOUT_408);
    socket.destroy();
    this.front.opts.timedOut(what);
  }
}

export class H1Front {
  private readonly conns = new Set<FrontConnection>();
  private readonly nodeListener: ConnectionListener;
  private readonly writers: ByteWriter[] = [];
  /** Every adopted socket reads into this; each read is used, or copied, before the next (own-read-socket.ts). */
  private readonly readBuffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
  private readonly timer: NodeJS.Timeout;
  /** @internal the end of a kept-alive answer's head, as node:http writes it for this timeout. */
  readonly keepAliveTail: Buffer;

  constructor(readonly opts: H1FrontOptions) {
    this.keepAliveTail = lit(`Connection: keep-alive\r\nKeep-Alive: timeout=${Math.floor(opts.keepAliveTimeoutMs / 1000)}\r\n\r\n`);
    const listeners = opts.server.listeners('connection');
    if (listeners.length !== 1) throw new Error(`h1-front: node:http's server has ${listeners.length} connection listeners, expected its own one`);
    this.nodeListener = listeners[0] as ConnectionListener;
    opts.server.removeListener('connection', this.nodeListener);
    opts.server.on('connection', (socket: Socket) => this.accept(socket));
    // As node:http's connectionsCheckingInterval: timeouts overrun by at most this much.
    this.timer = setInterval(() => this.checkAll(), Math.min(1000, opts.headersTimeoutMs));
    this.timer.unref();
    opts.server.once('close', () => clearInterval(this.timer));
  }

  private accept(accepted: Socket): void {
    const c = new FrontConnection(this, accepted);
    const own = adopt(accepted, this.readBuffer, c.onRead);
    if (own !== null) c.socket = own;
    else accepted.on('data', c.onData);
    this.conns.add(c);
    const socket = c.socket;
    socket.on('end', c.onEnd);
    socket.on('close', c.onClose);
    // Errors end in 'close'; a listener keeps them from being thrown.
    socket.on('error', ignore);
  }

  /** @internal */
  handOver(socket: Socket): void {
    this.nodeListener.call(this.opts.server, socket);
  }

  /** @internal */
  forget(c: FrontConnection): void {
    this.conns.delete(c);
  }

  /** @internal a writer for one answer, back through giveWriter() once the socket has it. */
  takeWriter(size: number): ByteWriter {
    const w = this.writers.pop();
    if (w === undefined) return new ByteWriter(Math.max(4096, size));
    w.rearm(size);
    w.ensure(size);
    return w;
  }

  /** @internal */
  giveWriter(w: ByteWriter): void {
    // A writer grown past 1 MiB for one large answer gives its buffer back rather than keep it.
    if (w.buf.length > 1 << 20 || this.writers.length >= 256) w.release();
    else {
      w.reset();
      this.writers.push(w);
    }
  }

  /** Connections the front serves now (not those handed over to node:http). */
  get connections(): number {
    return this.conns.size;
  }

  /** Closes connections waiting for their next request (draining, as node's closeIdleConnections()). */
  closeIdle(): void {
    for (const c of this.conns) if (c.idle) c.socket.destroy();
  }

  closeAll(): void {
    for (const c of this.conns) c.socket.destroy();
  }

  private checkAll(): void {
    const now = performance.now();
    for (const c of this.conns) c.check(now);
  }
}

function ignore(): void {}
