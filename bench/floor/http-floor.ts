import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import { type Dispatcher, Pool } from 'undici';
import { H1Pool } from '../../src/backend/h1-pool.js';
import { bufferPool } from '../../src/mem/buffer-pool.js';
import { HeapMeter } from '../../src/metrics/heap-meter.js';

/**
 * bench:hotpath's library floor: what node:http (and undici) allocate per request before any
 * scoring code runs, counted by the same HeapMeter scorecar's /metrics reads.
 *
 *   node dist/bench/floor/http-floor.js PORT bare                 read the body, answer fixed bytes
 *   node dist/bench/floor/http-floor.js PORT dispatch BACKEND_URL  read it, forward it with undici's
 *                                                                  dispatch (a handler object, as
 *                                                                  scorecar did), relay the reply
 *   node dist/bench/floor/http-floor.js PORT h1 BACKEND_URL        the same through scorecar's H1Pool
 *
 * Both copy the body into one reused buffer per connection and write the answer as one Buffer,
 * so what they allocate is the libraries' own share. GET /heap reads the meter.
 */
const port = Number(process.argv[2] ?? 0);
const mode = process.argv[3] === 'dispatch' || process.argv[3] === 'h1' ? process.argv[3] : 'bare';
const backend = process.argv[4] ?? 'http://127.0.0.1:30000';
const ROW = '[0.7310585786300049,0.2689414213699951]';
const FIXED = Buffer.from(`{"scores":[${new Array<string>(10).fill(ROW).join(',')}],"object":"scoring"}`);
const HEADERS = { 'content-type': 'application/json', 'content-length': FIXED.length };
const meter = new HeapMeter();
meter.start();
let requests = 0;
const pool = mode === 'dispatch' ? new Pool(backend, { connections: 64, pipelining: 1, keepAliveTimeout: 60_000 }) : null;
const SCORE_HEADERS = { 'content-type': 'application/json' };
const backendUrl = new URL(backend);
const h1 =
  mode === 'h1'
    ? new H1Pool({ host: backendUrl.hostname, port: Number(backendUrl.port), connections: 64, timeoutMs: 30_000, connectTimeoutMs: 5_000, idleTimeoutMs: 60_000, maxReplyBytes: 1 << 20, headers: {} })
    : null;

class Relay implements Dispatcher.DispatchHandler {
  private status = 0;
  private length = 0;
  constructor(
    private readonly res: ServerResponse,
    private readonly buf: Buffer,
  ) {}
  onRequestStart(): void {}
  onResponseStart(_c: Dispatcher.DispatchController, status: number): void {
    this.status = status;
  }
  onResponseData(_c: Dispatcher.DispatchController, chunk: Buffer): void {
    chunk.copy(this.buf, this.length);
    this.length += chunk.length;
  }
  onResponseEnd(): void {
    this.res.writeHead(this.status, { 'content-type': 'application/json', 'content-length': this.length });
    this.res.end(this.buf.subarray(0, this.length));
  }
  onResponseError(_c: Dispatcher.DispatchController, e: Error): void {
    this.res.writeHead(502);
    this.res.end(String(e));
  }
}

/** Per connection: the request body and the reply, reused by each request on it. */
const buffers = new WeakMap<object, { body: Buffer; reply: Buffer }>();

function handle(req: IncomingMessage, res: ServerResponse): void {
  if (req.url === '/heap') {
    meter.read();
    res.end(JSON.stringify({ allocated_bytes: meter.allocatedBytes, gc_seconds: meter.gcSeconds, requests }));
    return;
  }
  let bufs = buffers.get(req.socket);
  if (bufs === undefined) {
    bufs = { body: Buffer.allocUnsafe(64 * 1024), reply: Buffer.allocUnsafe(16 * 1024) };
    buffers.set(req.socket, bufs);
  }
  const { body, reply } = bufs;
  let length = 0;
  req.on('data', (c: Buffer) => {
    c.copy(body, length);
    length += c.length;
  });
  req.on('end', () => {
    requests++;
    if (h1 !== null) {
      h1.post('/v1/score', body.subarray(0, length)).then(
        (r) => {
          r.body.copy(reply, 0, 0, r.length);
          bufferPool.release(r.body);
          res.writeHead(r.status, { 'content-type': 'application/json', 'content-length': r.length });
          res.end(reply.subarray(0, r.length));
        },
        (e: unknown) => {
          res.writeHead(502);
          res.end(String(e));
        },
      );
      return;
    }
    if (pool === null) {
      res.writeHead(200, HEADERS);
      res.end(FIXED);
      return;
    }
    pool.dispatch({ path: '/v1/score', method: 'POST', headers: SCORE_HEADERS, body: body.subarray(0, length) }, new Relay(res, reply));
  });
}

const server = createServer(handle);
server.keepAliveTimeout = 75_000;
server.listen(port, '127.0.0.1', () => {
  const a = server.address();
  process.stdout.write(`http floor (${mode}) listening on http://127.0.0.1:${typeof a === 'object' && a ? a.port : port}\n`);
});
