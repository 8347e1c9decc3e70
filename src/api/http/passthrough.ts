import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import type { BackendSet } from '../../backend/backend-set.js';
import { isConnectFailure } from '../../backend/errors.js';
import type { Logger } from '../../observe/logger.js';
import { REQUEST_ID_HEADER } from '../../observe/request-id.js';
import { SpanStatusCode } from '@opentelemetry/api';
import { type RequestTrace, SpanKind, TRACEPARENT, traceparentOf } from '../../observe/tracing.js';
import { sendError } from './reply.js';
import type { RouteClass } from './route-class.js';

/** Headers that belong to one connection, never forwarded (RFC 9110 §7.6.1). */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
]);

function forwardHeaders(src: IncomingHttpHeaders | Record<string, string | string[] | undefined>): Record<string, string | string[]> {
  const drop = new Set(HOP_BY_HOP);
  const conn = src.connection;
  if (typeof conn === 'string') for (const h of conn.split(',')) drop.add(h.trim().toLowerCase());
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(src)) {
    if (v === undefined || drop.has(k)) continue;
    out[k] = v;
  }
  return out;
}

export interface PassthroughLimits {
  /** Passed-through calls one backend may have in flight (open streams included); beyond, 503. */
  maxInflight: number;
}

/**
 * Every route scorecar does not accelerate goes to a backend unchanged: method, path, query,
 * headers (minus hop-by-hop ones), body, status and response body. Responses stream through as
 * they arrive, so SSE events reach the client before the upstream has finished, and a client
 * that goes away aborts the upstream call.
 *
 * Calls go through the backend's passthrough pool, never the scoring pool, so long streams and
 * clients that do not read cannot take scoring's connections; that pool has its own connection
 * cap and header/idle timeouts, and in-flight calls beyond `maxInflight` are refused at once.
 *
 * Authorization: a client scorecar authenticated for this route (`authenticated`) gets the
 * backend key (the backend admin key on SGLang's admin routes, where one is set); any other
 * client's Authorization header is forwarded as it came, and the backend key is never added.
 *
 * x-request-id goes on as the request's id (the client's, or the one scorecar made). With
 * tracing on, the call is a client span under the request's span and its traceparent replaces
 * the client's; with tracing off the client's traceparent goes on unchanged like any header.
 */
export function passthrough(
  req: IncomingMessage,
  res: ServerResponse,
  backends: BackendSet,
  cls: RouteClass,
  authenticated: boolean,
  limits: PassthroughLimits,
  requestId: string,
  trace: RequestTrace | null = null,
  log?: Logger,
): void {
  const backend = backends.pick() ?? backends.backends.find((b) => b.healthy) ?? null;
  if (backend === null) {
    req.resume();
    sendError(res, 503, 'Service unavailable: no healthy SGLang backend (scorecar)', 'ServiceUnavailableError', { 'retry-after': '1' });
    return;
  }
  if (backend.passthroughInflight >= limits.maxInflight) {
    req.resume();
    res.setHeader('connection', 'close');
    sendError(res, 503, `Service unavailable: ${limits.maxInflight} passed-through calls already in flight (scorecar --passthrough-max-inflight)`, 'ServiceUnavailableError', {
      'retry-after': '1',
    });
    return;
  }
  backend.passthroughInflight++;
  const abort = new AbortController();
  const onClose = (): void => {
    if (!res.writableFinished) abort.abort();
  };
  res.once('close', onClose);
  req.once('aborted', () => abort.abort());

  const headers = forwardHeaders(req.headers);
  headers[REQUEST_ID_HEADER] = requestId;
  const span = trace !== null ? trace.child('backend passthrough', SpanKind.CLIENT, performance.now()) : null;
  if (span !== null) {
    span.setAttribute('server.address', backend.url);
    headers[TRACEPARENT] = traceparentOf(span);
  }
  if (authenticated) {
    const key = backend.passthroughAuthorization(cls === 'admin');
    if (key !== null) headers.authorization = key;
  }
  const method = (req.method ?? 'GET') as Dispatcher.HttpMethod;
  const hasBody = method !== 'GET' && method !== 'HEAD' && (req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined);

  backend.passthroughPool
    .stream(
      {
        path: req.url ?? '/',
        method,
        headers,
        body: hasBody ? req : null,
        signal: abort.signal,
      },
      ({ statusCode, headers: upstream }) => {
        span?.setAttribute('http.response.status_code', statusCode);
        const out: OutgoingHttpHeaders = forwardHeaders(upstream as Record<string, string | string[] | undefined>);
        // The client gets the id it is known by here, whatever the backend answered with.
        out[REQUEST_ID_HEADER] = requestId;
        res.writeHead(statusCode, out);
        // Event streams must not sit in Nagle's buffer.
        res.socket?.setNoDelay(true);
        res.flushHeaders();
        return res;
      },
    )
    .catch((e: unknown) => {
      if (!abort.signal.aborted) {
        span?.setStatus({ code: SpanStatusCode.ERROR });
        log?.warn({ reqId: requestId, backend: backend.url, path: req.url, err: e instanceof Error ? e.message : String(e) }, 'passthrough call failed');
      }
      if (abort.signal.aborted) {
        if (!res.writableEnded) res.destroy();
        return;
      }
      if (!res.headersSent) {
        if (isConnectFailure(e)) {
          backend.healthy = false;
          sendError(res, 503, `Service unavailable: ${String((e as Error)?.message)} (scorecar)`, 'ServiceUnavailableError', { 'retry-after': '1' });
        } else if (isTimeout(e)) {
          sendError(res, 504, `Gateway timeout: ${String((e as Error)?.message)} (scorecar passthrough)`, 'GatewayTimeoutError');
        } else sendError(res, 502, `Bad gateway: ${String((e as Error)?.message ?? e)} (scorecar)`, 'BadGatewayError');
      } else {
        res.destroy();
      }
    })
    .finally(() => {
      span?.end(performance.now());
      backend.passthroughInflight--;
      res.off('close', onClose);
    });
}

function isTimeout(e: unknown): boolean {
  const code = (e as { code?: unknown })?.code;
  return code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT';
}
