import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { BackendSet } from '../../backend/backend-set.js';
import { mergeBackendMetrics } from '../../metrics/merge-exposition.js';
import type { ScorecarMetrics } from '../../metrics/registry.js';
import { UNAUTHORIZED_JSON } from '../../sglang/errors.js';
import type { Auth } from './auth.js';
import { BodyTooLarge, readPooledBody } from './body.js';
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
  log(msg: string): void;
}

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
export function createHttpApi(deps: HttpApiDeps): Server {
  const { auth, score, backends, metrics } = deps;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const method = req.method;
    const own =
      path.startsWith('/scorecar/') ||
      (method === 'POST' && (path === '/v1/score' || path === '/rank')) ||
      (method === 'POST' && deps.rerank !== null && (path === '/v1/rerank' || path === '/v2/rerank')) ||
      (method === 'GET' && (path === '/health' || path === '/metrics'));
    if (!own) {
      // Every other route goes to a backend; the backend key is lent only to clients that
      // showed the key the route needs (route-class.ts).
      const cls = classifyRoute(path);
      const access = auth.passthrough(req, cls);
      if (!access.allowed) {
        req.resume();
        return sendBody(res, 401, UNAUTHORIZED_JSON);
      }
      return passthrough(req, res, backends, cls, access.authenticated, deps.passthroughLimits);
    }
    // scorecar's admin routes answer to the admin key (which defaults to the API key); the rest to the API key.
    if (path.startsWith('/scorecar/') ? !auth.allowsAdmin(req) : !auth.allows(req, path)) {
      req.resume();
      return sendBody(res, 401, UNAUTHORIZED_JSON);
    }
    const rerank = deps.rerank !== null && (path === '/v1/rerank' || path === '/v2/rerank') && req.method === 'POST' ? deps.rerank : null;
    if (((path === '/v1/score' || path === '/rank') && req.method === 'POST') || rerank !== null) {
      const route = rerank !== null ? (path === '/v1/rerank' ? rerank.v1 : rerank.v2) : path === '/v1/score' ? score : deps.rank;
      readPooledBody(req, deps.maxBodyBytes).then(
        ({ buf, length }) => route.handle(req, res, buf, length),
        (e: unknown) => {
          if (e instanceof BodyTooLarge) {
            // The rest of the body is not read; close the connection after answering.
            res.setHeader('connection', 'close');
            sendError(res, 400, e.message, 'BadRequestError');
            metrics.requests.inc(metrics.requests.routeIndex(path as '/v1/score' | '/rank' | '/v1/rerank' | '/v2/rerank'), 400);
          } else if (!res.headersSent) res.destroy();
        },
      );
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
      void Promise.all([metrics.registry.metrics(), backendMetrics(backends)]).then(([own, theirs]) =>
        sendBody(res, 200, own + theirs, metrics.registry.contentType),
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
  });
  server.keepAliveTimeout = 75_000;
  server.headersTimeout = 80_000;
  server.on('clientError', (err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
    deps.log(`client error: ${err.message}`);
  });
  return server;
}
