import { CONNECT_TIMEOUT_CODE } from './h1-pool.js';

/** Failures talking to a backend, by what the client should be told. */
export class BackendUnavailable extends Error {
  /**
   * Seconds a client should wait before trying again (the Retry-After header): when every
   * backend is ejected, until the earliest re-admission probe.
   */
  readonly retryAfterS: number;
  constructor(message: string, options?: { cause?: unknown; retryAfterS?: number }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'BackendUnavailable';
    this.retryAfterS = Math.max(1, Math.ceil(options?.retryAfterS ?? 1));
  }
}

/** The connection broke mid-call or the reply was not SGLang's shape: 502. */
export class BadGateway extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BadGateway';
  }
}

/** The backend answered with an error status; its body is relayed as is. */
export class UpstreamError extends Error {
  constructor(
    readonly status: number,
    readonly body: Buffer,
    readonly contentType: string,
  ) {
    super(`backend answered ${status}`);
    this.name = 'UpstreamError';
  }
}

const CONNECT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT', CONNECT_TIMEOUT_CODE]);

/** Whether an undici or H1Pool error happened before the request reached the server (safe to retry elsewhere). */
export function isConnectFailure(e: unknown): boolean {
  let cur: unknown = e;
  for (let i = 0; i < 4 && cur; i++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string' && CONNECT_CODES.has(code)) return true;
    cur = (cur as { cause?: unknown }).cause;
  }
  return false;
}

/** What went wrong with one backend call, for outlier ejection, retries and metrics. */
export type FailureClass = '5xx' | 'timeout' | 'reset' | 'connect' | '4xx';

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT']);

/**
 * Classes a failed call (an exception from SglangBackend.post, or an error status). Anything that
 * broke the exchange after it reached the server and is not a timeout counts as a reset.
 */
export function classifyFailure(e: unknown): FailureClass {
  if (e instanceof UpstreamError) return e.status >= 500 ? '5xx' : '4xx';
  if (isConnectFailure(e)) return 'connect';
  let cur: unknown = e;
  for (let i = 0; i < 4 && cur; i++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string' && TIMEOUT_CODES.has(code)) return 'timeout';
    cur = (cur as { cause?: unknown }).cause;
  }
  return 'reset';
}
