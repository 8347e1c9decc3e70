import type { HttpReply } from './exchange.js';
import { BackendUnavailable, BadGateway, UpstreamError } from '../../backend/errors.js';
import { DeadlineExceededInFlight, ShaperRefused } from '../../control/shaper-errors.js';
import { ScoreError } from '../../pipeline/errors.js';
import { TYPE_BAD_REQUEST, TYPE_INTERNAL } from '../../sglang/errors.js';
import { RankRequestError } from '../rank-request.js';
import { RequestOptionError } from '../request-options.js';
import { sendBody, sendError } from './reply.js';

/**
 * Maps every way a scoring request can fail to one HTTP answer in SGLang's error envelope, and
 * returns the status sent (499 when the client is gone and nobody is left to answer).
 * A cancellation while the client is still connected is answered 503: every accepted request
 * gets exactly one answer, even if something inside scorecar cancelled it.
 */
export function answerFailure(res: HttpReply, e: unknown): number {
  if (e instanceof ScoreError) {
    sendError(res, e.status, e.message, e.type, e.retryAfterS !== null ? { 'retry-after': String(e.retryAfterS) } : undefined);
    return e.status;
  }
  if (e instanceof RankRequestError || e instanceof RequestOptionError) {
    sendError(res, 400, e.message, TYPE_BAD_REQUEST);
    return 400;
  }
  if (e instanceof UpstreamError) {
    sendBody(res, e.status, e.body, e.contentType);
    return e.status;
  }
  if (e instanceof ShaperRefused) {
    const status = e.reason === 'closed' ? 503 : 429;
    sendError(res, status, `Too many requests: ${e.message} (scorecar traffic shaper)`, status === 429 ? 'TooManyRequestsError' : 'ServiceUnavailableError', {
      'retry-after': String(e.retryAfterS),
    });
    return status;
  }
  if (e instanceof DeadlineExceededInFlight) {
    sendError(res, 504, `Gateway timeout: ${e.message} (scorecar)`, 'GatewayTimeoutError');
    return 504;
  }
  if (e instanceof BackendUnavailable) {
    sendError(res, 503, `Service unavailable: ${e.message} (scorecar)`, 'ServiceUnavailableError', { 'retry-after': String(e.retryAfterS) });
    return 503;
  }
  if (e instanceof BadGateway) {
    sendError(res, 502, `Bad gateway: ${e.message} (scorecar)`, 'BadGatewayError');
    return 502;
  }
  if ((e as Error)?.name === 'AbortError') {
    if (res.destroyed) return 499;
    sendError(res, 503, 'Service unavailable: the request was cancelled inside scorecar', 'ServiceUnavailableError', { 'retry-after': '1' });
    return 503;
  }
  sendError(res, 500, `Internal server error: ${String((e as Error)?.message ?? e)}`, TYPE_INTERNAL);
  return 500;
}
