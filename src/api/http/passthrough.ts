import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import type { BackendSet } from '../../backend/backend-set.js';
import { isConnectFailure } from '../../backend/errors.js';
import { sendError } from './reply.js';

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

/**
 * Every route scorecar does not accelerate goes to a backend unchanged: method, path, query,
 * headers (minus hop-by-hop ones), body, status and response body. Responses stream through as
 * they arrive, so SSE events reach the client before the upstream has finished, and a client
 * that goes away aborts the upstream call.
 */
export function passthrough(req: IncomingMessage, res: ServerResponse, backends: BackendSet): void {
  const backend = backends.pick() ?? backends.backends.find((b) => b.healthy) ?? null;
  if (backend === null) {
    req.resume();
    sendError(res, 503, 'Service unavailable: no healthy SGLang backend (scorecar)', 'ServiceUnavailableError', { 'retry-after': '1' });
    return;
  }
  const abort = new AbortController();
  const onClose = (): void => {
    if (!res.writableFinished) abort.abort();
  };
  res.once('close', onClose);
  req.once('aborted', () => abort.abort());

  const headers = forwardHeaders(req.headers);
  const key = backend.apiKeyHeader;
  if (key !== null) headers.authorization = key;
  const method = (req.method ?? 'GET') as Dispatcher.HttpMethod;
  const hasBody = method !== 'GET' && method !== 'HEAD' && (req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined);

  backend.pool
    .stream(
      {
        path: req.url ?? '/',
        method,
        headers,
        body: hasBody ? req : null,
        signal: abort.signal,
        // Streams can be long-lived (SSE); only the client's going away ends them early.
        headersTimeout: 0,
        bodyTimeout: 0,
      },
      ({ statusCode, headers: upstream }) => {
        const out: OutgoingHttpHeaders = forwardHeaders(upstream as Record<string, string | string[] | undefined>);
        res.writeHead(statusCode, out);
        // Event streams must not sit in Nagle's buffer.
        res.socket?.setNoDelay(true);
        res.flushHeaders();
        return res;
      },
    )
    .catch((e: unknown) => {
      if (abort.signal.aborted) {
        if (!res.writableEnded) res.destroy();
        return;
      }
      if (!res.headersSent) {
        if (isConnectFailure(e)) {
          backend.healthy = false;
          sendError(res, 503, `Service unavailable: ${String((e as Error)?.message)} (scorecar)`, 'ServiceUnavailableError', { 'retry-after': '1' });
        } else sendError(res, 502, `Bad gateway: ${String((e as Error)?.message ?? e)} (scorecar)`, 'BadGatewayError');
      } else {
        res.destroy();
      }
    })
    .finally(() => res.off('close', onClose));
}
