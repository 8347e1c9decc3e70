import { Metadata, status as Status } from '@grpc/grpc-js';
import { BackendUnavailable, BadGateway, UpstreamError } from '../../backend/errors.js';
import { DeadlineExceededInFlight, ShaperRefused } from '../../control/shaper-errors.js';
import { ScoreError } from '../../pipeline/errors.js';
import { RankRequestError } from '../rank-request.js';
import { RequestOptionError } from '../request-options.js';
import { MalformedMessage } from './messages.js';

/** A request scorecar's gRPC layer refuses before scoring (INVALID_ARGUMENT). */
export class GrpcRequestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GrpcRequestError';
  }
}

/** A request without a valid --api-key (UNAUTHENTICATED). */
export class Unauthenticated extends Error {
  constructor() {
    super('missing or wrong API key: send metadata "authorization: Bearer KEY" (scorecar --api-key)');
    this.name = 'Unauthenticated';
  }
}

/** A gRPC status for a failed request; retryAfterS goes to trailing metadata as retry-after. */
export interface GrpcFailure {
  code: Status;
  details: string;
  retryAfterS: number | null;
}

/** The status a client would expect for an HTTP status relayed from the backend or the pipeline. */
export function statusForHttp(code: number): Status {
  if (code === 400 || code === 413 || code === 422) return Status.INVALID_ARGUMENT;
  if (code === 408 || code === 504) return Status.DEADLINE_EXCEEDED;
  if (code === 429) return Status.RESOURCE_EXHAUSTED;
  if (code === 502 || code === 503) return Status.UNAVAILABLE;
  // 401/403/404 from a backend mean scorecar's own set-up is wrong, not the request.
  return Status.INTERNAL;
}

/** SGLang's error message from a relayed body (flat envelope, native or FastAPI form), else the text. */
export function upstreamMessage(body: Buffer): string {
  const text = body.toString('utf8');
  try {
    const v = JSON.parse(text) as { message?: unknown; error?: { message?: unknown }; detail?: unknown };
    const m = v.message ?? v.error?.message ?? v.detail;
    if (typeof m === 'string') return m;
  } catch {
    // not JSON: the raw text says more than nothing
  }
  return text.length > 500 ? `${text.slice(0, 500)}...` : text;
}

/**
 * Maps every way a scoring request can fail to one gRPC status, mirroring api/http/failures.ts;
 * null only when the client went away and nobody is left to answer. A cancellation while the
 * client is still there is answered UNAVAILABLE, so every accepted call gets exactly one answer.
 */
export function failureStatus(e: unknown, clientGone = false): GrpcFailure | null {
  if (e instanceof MalformedMessage) return { code: Status.INVALID_ARGUMENT, details: e.message, retryAfterS: null };
  if (e instanceof GrpcRequestError || e instanceof RankRequestError || e instanceof RequestOptionError) {
    return { code: Status.INVALID_ARGUMENT, details: e.message, retryAfterS: null };
  }
  if (e instanceof Unauthenticated) return { code: Status.UNAUTHENTICATED, details: e.message, retryAfterS: null };
  if (e instanceof ScoreError) return { code: statusForHttp(e.status), details: e.message, retryAfterS: e.retryAfterS };
  if (e instanceof ShaperRefused) {
    const code = e.reason === 'closed' ? Status.UNAVAILABLE : Status.RESOURCE_EXHAUSTED;
    return { code, details: `${e.message} (scorecar traffic shaper)`, retryAfterS: e.retryAfterS };
  }
  if (e instanceof DeadlineExceededInFlight) return { code: Status.DEADLINE_EXCEEDED, details: `${e.message} (scorecar)`, retryAfterS: null };
  if (e instanceof BackendUnavailable) return { code: Status.UNAVAILABLE, details: `${e.message} (scorecar)`, retryAfterS: e.retryAfterS };
  if (e instanceof BadGateway) return { code: Status.UNAVAILABLE, details: `bad gateway: ${e.message} (scorecar)`, retryAfterS: null };
  if (e instanceof UpstreamError) {
    return { code: statusForHttp(e.status), details: `backend answered ${e.status}: ${upstreamMessage(e.body)}`, retryAfterS: null };
  }
  if ((e as Error | null)?.name === 'AbortError') {
    return clientGone ? null : { code: Status.UNAVAILABLE, details: 'the call was cancelled inside scorecar', retryAfterS: 1 };
  }
  return { code: Status.INTERNAL, details: `internal error: ${String((e as Error | null)?.message ?? e)} (scorecar)`, retryAfterS: null };
}

/** The error object grpc-js sends as a status, with retry-after in trailing metadata. */
export function serviceError(f: GrpcFailure): { code: Status; details: string; metadata: Metadata } {
  const metadata = new Metadata();
  if (f.retryAfterS !== null) metadata.set('retry-after', String(f.retryAfterS));
  return { code: f.code, details: f.details, metadata };
}
