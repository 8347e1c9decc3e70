import type { IncomingMessage, ServerResponse } from 'node:http';
import { bufferPool } from '../../mem/buffer-pool.js';
import type { RequestTrace } from '../../observe/trace-context.js';

export class BodyTooLarge extends Error {
  constructor(readonly limit: number) {
    super(`Request body exceeds ${limit} bytes (scorecar --max-body-bytes)`);
  }
}

/** The most a body buffer is sized from Content-Length before any byte has arrived. */
const FIRST_BUFFER_MAX = 64 * 1024;
/** Reads kept for reuse; more than this in flight at once are allocated and dropped. */
const MAX_FREE = 256;

/** What a whole body goes to: a scoring route, which owns (and releases) the buffer from then on. */
export interface BodyConsumer {
  handle(req: IncomingMessage, res: ServerResponse, body: Buffer, length: number, requestId: string, trace: RequestTrace | null): unknown;
}

/** Answers a body that could not be read (BodyTooLarge, or the client gone: any other Error). */
export type BodyFailure = (res: ServerResponse, e: Error, requestId: string, path: string) => void;

/** The read a request's body goes to; null once it has ended (later events are ignored). */
const READ = Symbol('scorecar.bodyRead');
type Reading = IncomingMessage & { [READ]?: BodyRead | null };

/**
 * One body being read, reused across requests. Its listeners are module functions that find it
 * through the request (EventEmitter calls them with the request as `this`), so a request costs
 * no promise, closures or result object (they came to about 0.8 KB of heap per request in the
 * allocation profile of the floor bench), and none is removed when the read ends (removing
 * listeners cost more CPU than it saved).
 */
class BodyRead {
  req: IncomingMessage | null = null;
  res: ServerResponse | null = null;
  consumer: BodyConsumer | null = null;
  requestId = '';
  trace: RequestTrace | null = null;
  path = '';
  buf: Buffer | null = null;
  length = 0;

  constructor(readonly reader: BodyReader) {}

  start(req: IncomingMessage, res: ServerResponse, consumer: BodyConsumer, requestId: string, trace: RequestTrace | null, path: string, declared: number): void {
    this.req = req;
    this.res = res;
    this.consumer = consumer;
    this.requestId = requestId;
    this.trace = trace;
    this.path = path;
    this.buf = bufferPool.acquire(Number.isFinite(declared) && declared > 0 ? Math.min(declared, FIRST_BUFFER_MAX) : 16384);
    this.length = 0;
    (req as Reading)[READ] = this;
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    // A client that goes (or is cut off by the request timeout) before the end: nothing to answer.
    req.on('close', onClose);
  }

  fail(e: Error): void {
    const { res, requestId, path } = this;
    bufferPool.release(this.buf as Buffer);
    this.finish();
    this.reader.failed(res as ServerResponse, e, requestId, path);
  }

  /** Unhooks from the request (its later events find no read) and goes back to the free list. */
  finish(): void {
    (this.req as Reading)[READ] = null;
    this.req = null;
    this.res = null;
    this.consumer = null;
    this.trace = null;
    this.buf = null;
    this.reader.give(this);
  }
}

function onData(this: Reading, chunk: Buffer): void {
  const r = this[READ];
  if (r == null) return;
  const length = r.length;
  const limit = r.reader.limit;
  if (length + chunk.length > limit) return r.fail(new BodyTooLarge(limit));
  let buf = r.buf as Buffer;
  if (length + chunk.length > buf.length) {
    const next = bufferPool.acquire(Math.max(buf.length * 2, length + chunk.length));
    buf.copy(next, 0, 0, length);
    bufferPool.release(buf);
    r.buf = buf = next;
  }
  chunk.copy(buf, length);
  r.length = length + chunk.length;
}

function onEnd(this: Reading): void {
  const r = this[READ];
  if (r == null) return;
  const { res, consumer, requestId, trace, buf, length } = r;
  r.finish();
  (consumer as BodyConsumer).handle(this, res as ServerResponse, buf as Buffer, length, requestId, trace);
}

function onError(this: Reading, e: Error): void {
  this[READ]?.fail(e);
}

function onClose(this: Reading): void {
  const r = this[READ];
  if (r != null && !this.complete) r.fail(new Error('the client closed the connection before the body ended'));
}

/**
 * Reads request bodies into pooled buffers, so a 40 KB token-id body costs one copy and no
 * concatenation. A declared Content-Length over the limit is refused before anything is read;
 * otherwise it only sizes the first buffer up to 64 KiB, and the buffer grows (doubling) with
 * the bytes that really arrive: a client that declares 60 MB and sends 10 costs 64 KiB. A body
 * read whole goes to its consumer, which releases the buffer; a failed read releases it here.
 */
export class BodyReader {
  private readonly free: BodyRead[] = [];

  constructor(
    readonly limit: number,
    readonly failed: BodyFailure,
  ) {}

  read(req: IncomingMessage, res: ServerResponse, consumer: BodyConsumer, requestId: string, trace: RequestTrace | null, path: string): void {
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (declared > this.limit) {
      req.resume();
      this.failed(res, new BodyTooLarge(this.limit), requestId, path);
      return;
    }
    (this.free.pop() ?? new BodyRead(this)).start(req, res, consumer, requestId, trace, path, declared);
  }

  /** @internal a read that ended. */
  give(r: BodyRead): void {
    if (this.free.length < MAX_FREE) this.free.push(r);
  }
}
