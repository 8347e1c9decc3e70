/** Failures talking to a backend, by what the client should be told. */
export class BackendUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BackendUnavailable';
  }
}

/** The connection broke mid-call or the reply was not SGLang's shape: 502. */
export class BadGateway extends Error {
  constructor(message: string) {
    super(message);
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

const CONNECT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT']);

/** Whether an undici error happened before the request reached the server (safe to retry elsewhere). */
export function isConnectFailure(e: unknown): boolean {
  let cur: unknown = e;
  for (let i = 0; i < 4 && cur; i++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string' && CONNECT_CODES.has(code)) return true;
    cur = (cur as { cause?: unknown }).cause;
  }
  return false;
}
