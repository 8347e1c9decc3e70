import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { BackendSet } from '../../backend/backend-set.js';
import { mergeBackendMetrics } from '../../metrics/merge-exposition.js';
import type { ScorecarMetrics } from '../../metrics/registry.js';
import type { Observe } from '../../observe/observe.js';
import { REQUEST_ID_HEADER } from '../../observe/request-id.js';
import type { RequestTrace } from '../../observe/tracing.js';
import { UNAUTHORIZED_JSON, errorEnvelopeJson } from '../../sglang/errors.js';
import type { Auth } from './auth.js';
import { BodyReader, BodyTooLarge } from './body.js';
import { H1Front } from './h1-front.js';
import { type PassthroughLimits, passthrough } from './passthrough.js';
import { classifyRoute } from './route-class.js';
import { sendBody, sendError } from './reply.js';
import type { RankRoute } from './rank-route.js';
import type { RerankRoute } from './rerank-route.js';
import type { ScoreRoute } from './score-route.js';

export interface AdminHandlers {
  stats(): unknown;
  config(): unknown;
  flushCaches(): unknown;
}

export interface HttpApiDeps {
  auth: Auth;
  score: ScoreRoute;
  rank: RankRoute;
  /** null: --rerank-passthrough sends the rerank routes to SGLang unchanged. */
  rerank: { v1: RerankRoute; v2: RerankRoute } | null;
  backends: BackendSet;
  metrics: ScorecarMetrics;
  admin: AdminHandlers;
  maxBodyBytes: number;
  passthroughLimits: PassthroughLimits;
  /** Time a client has to send a request head / a whole request before 408 (README "Limits"). */
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  /** Logger, request ids, tracing (see observe/). */
  observe: Observe;
  /**
   * POST /v1/score served by scorecar's own HTTP/1.1 code (h1-front.ts) rather than node:http.
   * Only with tracing and access logging off: those hook node's request and response objects.
   */
  scoreFront: boolean;
}

/** The HTTP front as the process's lifecycle sees it: requests in progress, and draining. */
export interface HttpApi {
  server: Server;
  /** Requests received and not yet answered (or abandoned by their client). */
  readonly inFlight: number;
  /** From now on /health answers 503 and new requests get 503 with Connection: close. */
  startDraining(): void;
  /** Ends every connection, whichever of node:http and the H1 front serves it. */
  closeAllConnections(): void;
  /** The H1 front serving POST /v1/score, or null (--no-score-front, tracing or access logging on). */
  readonly front: H1Front | null;
  /** Resolves once no request is in flight (true), or when timeoutMs passes first (false). */
  idle(timeoutMs: number): Promise<boolean>;
}

/** node:http's keep-alive timeout here, and the H1 front's. */
const KEEP_ALIVE_MS = 75_000;

const DRAINING_JSON = errorEnvelopeJson('Service unavailable: scorecar is shutting down (draining)', 'ServiceUnavailableError', 503);

async function backendMetrics(backends: BackendSet): Promise<string> {
  const texts = await Promise.all(
    backends.backends.map(async (b) => {
      try {
        const r = await b.pool.request({ path: '/metrics', method: 'GET', headersTimeout: 2000, bodyTimeout: 2000 });
        const text = await r.body.text();
        return r.statusCode === 200 ? { backend: b.url, text } : null;
      } catch {
        return null;
      }
    }),
  );
  return mergeBackendMetrics(texts.filter((t): t is { backend: string; text: string } => t !== null));
}

/**
 * The SGLang-compatible HTTP front: /v1/score is scored by the pipeline, /health and /metrics
 * are scorecar's (with the backends' metrics appended), /scorecar/* is admin, and every other
 * path is passed through to a backend unchanged.
 */
export function createHttpApi(deps: HttpApiDeps): HttpApi {
  const { auth, score, backends, metrics } = deps;
  const { ids, tracing, log, access } = deps.observe;
  let inFlight = 0;
  let draining = false;
  let onIdle: (() => void) | null = null;
  // Bound once: counts a request out when its response ends or its client goes.
  const done = function (this: ServerResponse): void {
    inFlight--;
    if (inFlight === 0 && onIdle !== null) onIdle();
  };
  const bodies = new BodyReader(deps.maxBodyBytes, (res, e, rid, path) => {
    if (e instanceof BodyTooLarge) {
      // The rest of the body is not read; close the connection after answering.
      res.setHeader('connection', 'close');
      res.setHeader(REQUEST_ID_HEADER, rid);
      sendError(res, 400, e.message, 'BadRequestError');
      metrics.requests.inc(metrics.requests.routeIndex(path as '/v1/score' | '/rank' | '/v1/rerank' | '/v2/rerank'), 400);
    } else if (!res.headersSent) res.destroy();
  });
  const server = createServer(
    {
      headersTimeout: deps.headersTimeoutMs,
      requestTimeout: deps.requestTimeoutMs,
      // How often node checks the two timeouts above (its default, 30 s, would let them overrun).
      connectionsCheckingInterval: Math.min(1000, deps.headersTimeoutMs),
    },
    (req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    // Every answer carries the request's id: the client's when valid, else a new one (observe/request-id.ts).
    // POST /v1/score writes it with its other headers (score-route.ts; failures: scoring-route.ts):
    // a header set before writeHead(status, headers) sends node down its slow merge path, which
    // allocated about 3.7 KB more per request there (test/e2e/gc-free.test.ts).
    const rid = ids.accept(req.headers[REQUEST_ID_HEADER]);
    if (path !== '/v1/score' || req.method !== 'POST' || draining) res.setHeader(REQUEST_ID_HEADER, rid);
    if (draining) {
      req.resume();
      if (path === '/health') {
        res.writeHead(503, { 'content-length': 0, 'retry-after': '1', 'x-scorecar-state': 'draining', connection: 'close' });
        return res.end();
      }
      return sendBody(res, 503, DRAINING_JSON, 'application/json', { 'retry-after': '1', connection: 'close' });
    }
    inFlight++;
    // A response closes once; on() spares the wrapper once() allocates per request.
    res.on('close', done);
    const method = req.method;
    const own =
      path.startsWith('/scorecar/') ||
      (method === 'POST' && (path === '/v1/score' || path === '/rank')) ||
      (method === 'POST' && deps.rerank !== null && (path === '/v1/rerank' || path === '/v2/rerank')) ||
      (method === 'GET' && (path === '/health' || path === '/metrics'));
    const scoring =
      method === 'POST' && (path === '/v1/score' || path === '/rank' || (deps.rerank !== null && (path === '/v1/rerank' || path === '/v2/rerank')));
    // Tracing off: one null test. On: a server span for scoring and passed-through requests
    // (not /health, /metrics, admin), ended when the response is done.
    let trace: RequestTrace | null = null;
    if (tracing !== null && (scoring || !own)) {
      const started = performance.now();
      trace = tracing.startRequest(scoring ? `POST ${path}` : `${method ?? 'GET'} passthrough`, req.headers, started, {
        'http.request.method': method ?? 'GET',
        'http.route': scoring ? path : 'passthrough',
        'url.path': path.length <= 256 ? path : path.slice(0, 256),
        'scorecar.request_id': rid,
      });
      const t = trace;
      if (t !== null) res.once('close', () => t.end(res.statusCode, performance.now(), res.statusCode >= 500 || !res.writableFinished));
    }
    if (access) {
      const started = performance.now();
      res.once('close', () =>
        log.debug({ reqId: rid, method, path, status: res.statusCode, ms: +(performance.now() - started).toFixed(3), finished: res.writableFinished }, 'request'),
      );
    }
    if (!own) {
      // Every other route goes to a backend; the backend key is lent only to clients that
      // showed the key the route needs (route-class.ts).
      const cls = classifyRoute(path);
      const allowed = auth.passthrough(req, cls);
      if (!allowed.allowed) {
        req.resume();
        return sendBody(res, 401, UNAUTHORIZED_JSON);
      }
      return passthrough(req, res, backends, cls, allowed.authenticated, deps.passthroughLimits, rid, trace, log);
    }
    // scorecar's admin routes answer to the admin key (which defaults to the API key); the rest to the API key.
    if (path.startsWith('/scorecar/') ? !auth.allowsAdmin(req) : !auth.allows(req, path)) {
      req.resume();
      res.setHeader(REQUEST_ID_HEADER, rid);
      return sendBody(res, 401, UNAUTHORIZED_JSON);
    }
    const rerank = deps.rerank !== null && (path === '/v1/rerank' || path === '/v2/rerank') && req.method === 'POST' ? deps.rerank : null;
    if (scoring) {
      const route = rerank !== null ? (path === '/v1/rerank' ? rerank.v1 : rerank.v2) : path === '/v1/score' ? score : deps.rank;
      bodies.read(req, res, route, rid, trace, path);
      return;
    }
    if (path === '/health' && req.method === 'GET') {
      req.resume();
      const ok = backends.anyHealthy();
      res.writeHead(ok ? 200 : 503, ok ? { 'content-length': 0 } : { 'content-length': 0, 'retry-after': '1' });
      return res.end();
    }
    if (path === '/metrics' && req.method === 'GET') {
      req.resume();
      Promise.all([metrics.registry.metrics(), backendMetrics(backends)]).then(
        ([own, theirs]) => sendBody(res, 200, own + theirs, metrics.registry.contentType),
        (e: unknown) => sendBody(res, 500, `# scorecar could not collect its metrics: ${String((e as Error)?.message ?? e)}\n`, 'text/plain'),
      );
      return;
    }
    if (path.startsWith('/scorecar/')) {
      req.resume();
      const admin = deps.admin;
      if (path === '/scorecar/stats' && req.method === 'GET') return sendBody(res, 200, JSON.stringify(admin.stats()));
      if (path === '/scorecar/config' && req.method === 'GET') return sendBody(res, 200, JSON.stringify(admin.config()));
      if (path === '/scorecar/cache/flush' && req.method === 'POST') return sendBody(res, 200, JSON.stringify(admin.flushCaches()));
      return sendBody(res, 404, '{"detail":"Not Found"}');
    }
    },
  );
  server.keepAliveTimeout = KEEP_ALIVE_MS;
  const front =
    deps.scoreFront && tracing === null && !access
      ? new H1Front({
          server,
          route: score,
          admits: (req) => !draining && auth.allows(req, '/v1/score'),
          requestId: (h) => ids.accept(h),
          started: () => {
            inFlight++;
          },
          finished: () => {
            inFlight--;
            if (inFlight === 0 && onIdle !== null) onIdle();
          },
          timedOut: (what) => {
            const message = what === 'headers' ? 'Headers timeout' : 'Request timeout';
            log.info({ err: message, code: what === 'headers' ? 'ERR_HTTP_HEADERS_TIMEOUT' : 'ERR_HTTP_REQUEST_TIMEOUT' }, `client error: ${message}`);
          },
          failed: (e) => log.error({ err: e instanceof Error ? e.message : String(e) }, 'scoring route threw; connection closed'),
          maxBodyBytes: deps.maxBodyBytes,
          headersTimeoutMs: deps.headersTimeoutMs,
          requestTimeoutMs: deps.requestTimeoutMs,
          keepAliveTimeoutMs: KEEP_ALIVE_MS,
        })
      : null;
  server.on('clientError', (err: Error & { code?: string }, socket) => {
    // A head or request that outlived its timeout is answered 408; malformed heads 400.
    const timedOut = err.code === 'ERR_HTTP_REQUEST_TIMEOUT' || err.code === 'ERR_HTTP_HEADERS_TIMEOUT';
    if (socket.writable) {
      socket.end(`HTTP/1.1 ${timedOut ? '408 Request Timeout' : '400 Bad Request'}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n`);
    }
    socket.destroy();
    log.info({ err: err.message, code: err.code }, `client error: ${err.message}`);
  });
  return {
    server,
    front,
    get inFlight() {
      return inFlight;
    },
    startDraining() {
      draining = true;
      // Idle keep-alive connections would otherwise hold close() open; busy ones end after their answer.
      server.closeIdleConnections();
      front?.closeIdle();
    },
    closeAllConnections() {
      server.closeAllConnections();
      front?.closeAll();
    },
    idle(timeoutMs: number) {
      if (inFlight === 0) return Promise.resolve(true);
      return new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => {
          onIdle = null;
          resolve(false);
        }, timeoutMs);
        onIdle = () => {
          clearTimeout(timer);
          onIdle = null;
          resolve(true);
        };
      });
    },
  };
}
