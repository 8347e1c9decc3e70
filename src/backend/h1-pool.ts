import net from 'node:net';
import { bufferPool } from '../mem/buffer-pool.js';
import { type CancelScope, CancelledError } from '../mem/cancel-scope.js';
import { noop, resumeLater } from '../mem/continuation.js';
import { writeTo } from '../mem/socket-write.js';
import { H1ReplyParser } from './h1-reply-parser.js';

/**
 * Keep-alive HTTP/1.1 connections to one backend, for the scoring POST alone (discovery, health
 * and passthrough stay on undici). Written by hand because bench:hotpath measured node:http plus
 * undici's dispatch at ~1.36 KB of heap per item, about half of it undici's, where the issue's
 * bound for all of scorecar is 256 B: here each call is one pooled buffer written once, every
 * connection reads into one shared buffer (net's `onread`, no Buffer per read), and the reply
 * head is read for the four fields a scoring reply needs.
 *
 * A call that fails on a reused connection before any reply byte arrived is sent once more on a
 * fresh one: the server may have closed the idle connection as the request went out, and a
 * scoring call is safe to repeat.
 */
export interface H1PoolOptions {
  host: string;
  port: number;
  connections: number;
  /** Budget for one call, from when it is queued to its last reply byte. */
  timeoutMs: number;
  connectTimeoutMs: number;
  /** Idle connections are closed after this long unused. */
  idleTimeoutMs: number;
  maxReplyBytes: number;
  /** Fixed request headers, lower-case names (Authorization, ...). */
  headers: Record<string, string>;
  /** A new connection opened: the server may have restarted. */
  onConnect?: () => void;
}

export interface H1Reply {
  status: number;
  body: Buffer;
  length: number;
  contentType: string;
}

/** Codes the failure classifier reads (backend/errors.ts). */
export const CONNECT_TIMEOUT_CODE = 'SC_CONNECT_TIMEOUT';

export class H1CallError extends Error {
  constructor(
    message: string,
    readonly code: string,
    cause?: unknown,
  ) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'H1CallError';
  }
}

/**
 * One read buffer for every connection: `onread` hands each read to its callback synchronously,
 * and the callback has consumed it before returning.
 */
const READ_BUF = Buffer.allocUnsafeSlow(64 * 1024);

const SWEEP_MS = 100;
const CONTENT_LENGTH = Buffer.from('content-length: ');

/**
 * One call: pooled by its H1Pool (a call object per request was ~150 B of heap in the gc-free
 * load's allocation profile). It goes back to the pool only once nothing refers to it: settled,
 * its continuation run, and its bytes no longer with a socket.
 */
class H1Call {
  resolve: (r: H1Reply) => void = noop;
  reject: (e: unknown) => void = noop;
  conn: H1Conn | null = null;
  retried = false;
  settled = false;
  /** Its continuation ran (or passed to a fresh call). */
  ended = false;
  /** A socket holds its bytes (its write callback has not run). */
  writing = false;
  /** Pooled: the whole request, head and body, in [0, length). */
  bytes: Buffer = EMPTY;
  length = 0;
  deadline = 0;
  scope: CancelScope | undefined = undefined;

  constructor(readonly pool: H1Pool) {}

  /** Starts it for a request (a fresh or pooled object). */
  arm(bytes: Buffer, length: number, deadline: number, scope: CancelScope | undefined): this {
    this.bytes = bytes;
    this.length = length;
    this.deadline = deadline;
    this.scope = scope;
    scope?.add(this);
    return this;
  }

  /** The client went away (the scope calls this). */
  cancel(): void {
    this.pool.fail(this, new CancelledError());
  }

  settle(): boolean {
    if (this.settled) return false;
    this.settled = true;
    this.scope?.delete(this);
    // The request bytes go back once the socket is done with them (else H1Conn.onWritten does it).
    if (!this.writing) bufferPool.release(this.bytes);
    return true;
  }

  /** Emptied for the pool. */
  clear(): void {
    this.resolve = noop;
    this.reject = noop;
    this.conn = null;
    this.retried = this.settled = this.ended = this.writing = false;
    this.bytes = EMPTY;
    this.length = 0;
    this.scope = undefined;
  }
}

const EMPTY = Buffer.alloc(0);

class H1Conn {
  readonly socket: net.Socket;
  readonly parser: H1ReplyParser;
  call: H1Call | null = null;
  connected = false;
  connectDeadline: number;
  /** A reply was read here before: a failure before the next reply's first byte may be a stale close. */
  reused = false;
  /** The call whose request bytes are with the socket (its write callback has not run). */
  writingOwner: H1Call | null = null;
  idleSince = 0;
  closed = false;
  error: Error | null = null;

  constructor(
    private readonly pool: H1Pool,
    opts: H1PoolOptions,
  ) {
    this.parser = new H1ReplyParser(opts.maxReplyBytes);
    this.connectDeadline = performance.now() + opts.connectTimeoutMs;
    this.socket = net.connect({ host: opts.host, port: opts.port, noDelay: true, onread: { buffer: READ_BUF, callback: this.onRead } });
    this.socket.once('connect', this.onConnect);
    this.socket.on('error', this.onError);
    this.socket.once('end', this.onEnd);
    this.socket.once('close', this.onClose);
  }

  /** Whether a call may be written here now. */
  get usable(): boolean {
    return !this.closed && !this.socket.destroyed && this.socket.writable;
  }

  send(call: H1Call): void {
    this.call = call;
    call.conn = this;
    this.parser.reset();
    this.writingOwner = call;
    call.writing = true;
    // One call at a time per connection: nothing to wait for before the reply.
    writeTo(this.socket, call.bytes.subarray(0, call.length), this.onWritten);
  }

  private readonly onWritten = (err?: Error | null): void => {
    const owner = this.writingOwner;
    this.writingOwner = null;
    if (owner !== null) {
      owner.writing = false;
      // Settled while the socket still held the bytes: they are free only now.
      if (owner.settled) bufferPool.release(owner.bytes);
      this.pool.giveCall(owner);
    }
    // As Writable would: the failure reaches the call through 'error' and 'close'.
    if (err != null) this.socket.destroy(err);
  };

  private readonly onConnect = (): void => {
    this.connected = true;
    this.pool.connected();
  };

  private readonly onRead = (n: number): boolean => {
    this.pool.onData(this, n);
    return true;
  };

  private readonly onError = (e: Error): void => {
    this.error ??= e;
  };

  private readonly onEnd = (): void => {
    this.pool.drop(this);
  };

  private readonly onClose = (): void => {
    this.closed = true;
    this.pool.onClose(this);
  };
}

export class H1Pool {
  private readonly conns: H1Conn[] = [];
  private readonly idle: H1Conn[] = [];
  private readonly queue: H1Call[] = [];
  /** Calls to reuse (see H1Call). */
  private readonly calls: H1Call[] = [];
  private readonly prefixes = new Map<string, Buffer>();
  private sweep: NodeJS.Timeout | null = null;
  private closing = false;
  private closed: (() => void) | null = null;
  private closedPromise: Promise<void> | null = null;
  /** requestBytes' length, read at once by its caller. */
  private written = 0;

  constructor(private readonly opts: H1PoolOptions) {}

  /** Calls running or waiting. */
  get pending(): number {
    let n = this.queue.length;
    for (const c of this.conns) if (c.call !== null) n++;
    return n;
  }

  /** POSTs `body` to `path`; `headers` go on top of the fixed ones. */
  post(path: string, body: Uint8Array, scope?: CancelScope, headers?: Record<string, string>): Promise<H1Reply> {
    return new Promise<H1Reply>((resolve, reject) => this.call(path, body, scope, headers, resolve, reject));
  }

  /**
   * post() with continuations instead of a promise, for the scoring path (whose callers pass
   * continuations bound once: no promise or closure per call). Exactly one of them runs, never
   * before call() has returned.
   */
  call(
    path: string,
    body: Uint8Array,
    scope: CancelScope | undefined,
    headers: Record<string, string> | undefined,
    ok: (r: H1Reply) => void,
    fail: (e: unknown) => void,
    /** The body is body[0, bodyLength) (a pooled writer's buffer). */
    bodyLength = body.length,
  ): void {
    if (this.closing) return resumeLater(fail, new H1CallError('the backend is closing', 'SC_CLOSING'));
    let bytes: Buffer;
    try {
      bytes = this.requestBytes(path, body, bodyLength, headers);
    } catch (e) {
      return resumeLater(fail, e);
    }
    const call = (this.calls.pop() ?? new H1Call(this)).arm(bytes, this.written, performance.now() + this.opts.timeoutMs, scope);
    call.resolve = ok;
    call.reject = fail;
    try {
      this.start(call);
    } catch (e) {
      // A connection that could not even be opened (net.connect threw): the call is out of the
      // scope and its continuations' hands before it fails, after call() returns.
      call.settle();
      call.ended = true;
      this.giveCall(call);
      resumeLater(fail, e);
    }
  }

  /** Fails a call (timeout, cancel, broken connection): its connection is not reused. */
  fail(call: H1Call, e: unknown): void {
    const conn = call.conn;
    if (!call.settle()) return;
    const at = this.queue.indexOf(call);
    if (at >= 0) this.queue.splice(at, 1);
    if (conn !== null && conn.call === call) {
      conn.call = null;
      conn.socket.destroy();
    }
    try {
      call.reject(e);
    } finally {
      call.ended = true;
      this.giveCall(call);
    }
  }

  /** @internal a call back to the pool once nothing refers to it (see H1Call). */
  giveCall(call: H1Call): void {
    if (!call.settled || !call.ended || call.writing) return;
    call.clear();
    if (this.calls.length < 256) this.calls.push(call);
  }

  /** `fresh`: not on an idle connection (a resend after a stale one: its idle peers may be stale too). */
  private start(call: H1Call, fresh = false): void {
    const conn = fresh && this.conns.length < this.opts.connections ? undefined : this.takeIdle();
    if (conn !== undefined) {
      conn.send(call);
    } else if (this.conns.length < this.opts.connections) {
      const c = new H1Conn(this, this.opts);
      this.conns.push(c);
      c.send(call);
    } else {
      this.queue.push(call);
    }
    this.sweep ??= setInterval(this.onSweep, SWEEP_MS).unref();
  }

  /** The warmest idle connection still open. */
  private takeIdle(): H1Conn | undefined {
    for (;;) {
      const c = this.idle.pop();
      if (c === undefined || c.usable) return c;
      c.socket.destroy();
    }
  }

  /** Takes a connection out of the idle list and closes it. */
  drop(conn: H1Conn): void {
    const j = this.idle.indexOf(conn);
    if (j >= 0) this.idle.splice(j, 1);
    if (conn.call === null) conn.socket.destroy();
  }

  connected(): void {
    this.opts.onConnect?.();
  }

  onData(conn: H1Conn, n: number): void {
    const call = conn.call;
    if (call === null) {
      // Bytes nobody asked for: the connection is out of step.
      this.drop(conn);
      return;
    }
    let used: number;
    try {
      used = conn.parser.feed(READ_BUF, 0, n);
    } catch (e) {
      this.fail(call, new H1CallError((e as Error).message, 'SC_H1_PROTOCOL', e));
      return;
    }
    if (!conn.parser.done) return;
    // Bytes past the reply (no pipelining here): the connection is not trusted again.
    this.finish(conn, call, conn.parser.keepAlive && used === n);
  }

  onClose(conn: H1Conn): void {
    const i = this.conns.indexOf(conn);
    if (i >= 0) this.conns.splice(i, 1);
    const j = this.idle.indexOf(conn);
    if (j >= 0) this.idle.splice(j, 1);
    const call = conn.call;
    conn.call = null;
    if (call !== null && !call.settled) {
      let ended = false;
      if (conn.error === null) {
        try {
          conn.parser.end();
          ended = true;
        } catch {
          // fall through: the reply was cut short
        }
      }
      if (ended) this.finish(conn, call, false);
      else if (conn.reused && !conn.parser.started && !call.retried) {
        // Maybe the server closed the idle connection as this call went out: once more, fresh.
        call.retried = true;
        call.conn = null;
        if (conn.writingOwner === call) {
          // The socket still holds the bytes: send a copy.
          this.restartWithCopy(call);
        } else this.start(call, true);
      } else {
        const e = conn.error;
        const code = !conn.connected ? ((e as { code?: string } | null)?.code ?? 'ECONNREFUSED') : ((e as { code?: string } | null)?.code ?? 'ECONNRESET');
        const what = !conn.connected ? 'could not connect' : conn.parser.started ? 'closed the connection mid-reply' : 'closed the connection before replying';
        this.fail(call, new H1CallError(`${this.opts.host}:${this.opts.port} ${what}${e ? `: ${e.message}` : ''}`, code, e ?? undefined));
      }
    }
    this.pump();
    this.maybeClosed();
  }

  /** Stops taking calls; resolves once the calls in flight are done and every connection is closed. */
  close(): Promise<void> {
    this.closing = true;
    for (const c of [...this.idle]) this.drop(c);
    if (this.closedPromise === null) {
      this.closedPromise = new Promise((resolve) => {
        this.closed = resolve;
      });
      this.maybeClosed();
    }
    return this.closedPromise;
  }

  /** Fails whatever is in flight and closes every connection. */
  destroy(): Promise<void> {
    this.closing = true;
    for (const call of [...this.queue]) this.fail(call, new H1CallError('the backend was closed', 'SC_CLOSING'));
    for (const c of [...this.conns]) {
      if (c.call !== null) this.fail(c.call, new H1CallError('the backend was closed', 'SC_CLOSING'));
      c.socket.destroy();
    }
    return this.close();
  }

  private finish(conn: H1Conn, call: H1Call, reuse: boolean): void {
    const p = conn.parser;
    conn.call = null;
    if (!call.settle()) return;
    const reply: H1Reply = { status: p.status, body: p.takeBody(), length: p.length, contentType: p.contentType };
    // A reply that came before the request was all written (an early error): the server may not
    // read the rest, so the connection is not reused.
    if (reuse && !this.closing && conn.writingOwner === null) {
      conn.reused = true;
      const next = this.queue.shift();
      if (next !== undefined) conn.send(next);
      else {
        conn.idleSince = performance.now();
        this.idle.push(conn);
      }
    } else conn.socket.destroy();
    try {
      call.resolve(reply);
    } finally {
      call.ended = true;
      this.giveCall(call);
    }
    this.maybeClosed();
  }

  /** Starts queued calls on connections that can be opened now. */
  private pump(): void {
    while (this.queue.length > 0 && (this.idle.length > 0 || this.conns.length < this.opts.connections)) {
      this.start(this.queue.shift() as H1Call);
    }
  }

  private restartWithCopy(call: H1Call): void {
    // The old bytes stay with the dead socket until its write callback; the call gets its own copy.
    const copy = bufferPool.acquire(call.length);
    call.bytes.copy(copy, 0, 0, call.length);
    const fresh = (this.calls.pop() ?? new H1Call(this)).arm(copy, call.length, call.deadline, call.scope);
    fresh.retried = true;
    fresh.resolve = call.resolve;
    fresh.reject = call.reject;
    call.settled = true;
    call.ended = true;
    call.scope?.delete(call);
    // Back to the pool once the dead socket's write callback has run.
    this.giveCall(call);
    this.start(fresh, true);
  }

  private maybeClosed(): void {
    if (this.conns.length === 0 && this.queue.length === 0 && this.sweep !== null) {
      clearInterval(this.sweep);
      this.sweep = null;
    }
    if (this.closing && this.closed !== null && this.pending === 0) {
      for (const c of [...this.conns]) c.socket.destroy();
      if (this.conns.length === 0) {
        const done = this.closed;
        this.closed = null;
        done();
      }
    }
  }

  private readonly onSweep = (): void => {
    const now = performance.now();
    // A call still queued at its deadline had every connection busy for its whole budget: the
    // backend is failing its calls, and this counts as its timeout.
    for (const call of [...this.queue]) if (now >= call.deadline) this.fail(call, new H1CallError(`no connection to ${this.opts.host}:${this.opts.port} within ${this.opts.timeoutMs} ms`, 'ETIMEDOUT'));
    for (const c of [...this.conns]) {
      const call = c.call;
      if (!c.connected && now >= c.connectDeadline) {
        c.error ??= new H1CallError(`connect to ${this.opts.host}:${this.opts.port} timed out`, CONNECT_TIMEOUT_CODE);
        if (call !== null) this.fail(call, c.error);
        c.socket.destroy();
      } else if (call !== null && now >= call.deadline) {
        this.fail(call, new H1CallError(`${this.opts.host}:${this.opts.port} did not reply within ${this.opts.timeoutMs} ms`, 'ETIMEDOUT'));
      } else if (call === null && now - c.idleSince >= this.opts.idleTimeoutMs && this.idle.includes(c)) {
        this.drop(c);
      }
    }
  };

  /** The request line, fixed headers, this call's headers, Content-Length and body, in one pooled buffer. */
  private requestBytes(path: string, body: Uint8Array, bodyLength: number, headers: Record<string, string> | undefined): Buffer {
    let prefix = this.prefixes.get(path);
    if (prefix === undefined) {
      if (!/^\/[\x21-\x7e]*$/.test(path)) throw new H1CallError(`bad request path ${JSON.stringify(path)}`, 'SC_BAD_REQUEST');
      let head = `POST ${path} HTTP/1.1\r\nhost: ${this.opts.host.includes(':') ? `[${this.opts.host}]` : this.opts.host}:${this.opts.port}\r\ncontent-type: application/json\r\n`;
      for (const [k, v] of Object.entries(this.opts.headers)) head += headerLine(k, v);
      prefix = Buffer.from(head, 'latin1');
      this.prefixes.set(path, prefix);
    }
    let extra = 0;
    if (headers !== undefined) for (const k in headers) if (headerOk(k, headers[k] as string)) extra += k.length + (headers[k] as string).length + 4;
    // A pooled buffer not much longer than its body is copied whole: its tail lands past the
    // request's end, unsent; a view of just the body would be ~95 B of heap per call.
    const src = body.length - bodyLength <= Math.max(bodyLength, 4096) ? body : body.subarray(0, bodyLength);
    const buf = bufferPool.acquire(prefix.length + extra + 40 + src.length);
    let at = prefix.copy(buf, 0);
    if (headers !== undefined) {
      for (const k in headers) {
        const v = headers[k] as string;
        if (!headerOk(k, v)) continue;
        // Written piece by piece: no header-line string per call.
        at += buf.write(k, at, 'latin1');
        buf[at++] = 0x3a;
        buf[at++] = 0x20;
        at += buf.write(v, at, 'latin1');
        buf[at++] = 13;
        buf[at++] = 10;
      }
    }
    at += CONTENT_LENGTH.copy(buf, at);
    at = writeDecimal(buf, at, bodyLength);
    buf[at++] = 13;
    buf[at++] = 10;
    buf[at++] = 13;
    buf[at++] = 10;
    buf.set(src, at);
    this.written = at + bodyLength;
    return buf;
  }
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Field-value bytes (RFC 9110 §5.5): visible ASCII, space, tab and obs-text, written as latin1. */
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/** One header line; names and values that could split the head are refused. */
function headerLine(k: string, v: string): string {
  if (!headerOk(k, v)) throw new H1CallError(`header ${JSON.stringify(k)} has a character HTTP does not allow`, 'SC_BAD_REQUEST');
  return `${k}: ${v}\r\n`;
}

/**
 * Per-call headers (x-request-id, traceparent) are metadata: one HTTP cannot carry is left off
 * rather than failing the call (which would count against the backend).
 */
function headerOk(k: string, v: string): boolean {
  return TOKEN.test(k) && FIELD_VALUE.test(v);
}

/** Writes n (a non-negative integer) in decimal at `at`; returns the index past it. */
function writeDecimal(buf: Buffer, at: number, n: number): number {
  let digits = 1;
  for (let x = n; x >= 10; x = Math.floor(x / 10)) digits++;
  for (let i = at + digits - 1, x = n; i >= at; i--, x = Math.floor(x / 10)) buf[i] = 0x30 + (x % 10);
  return at + digits;
}
