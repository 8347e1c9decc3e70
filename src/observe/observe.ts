import { type Logger, silentLogger } from './logger.js';
import { RequestIds, requestIds } from './request-id.js';
import type { Tracing } from './tracing.js';

/**
 * What the APIs and the pipeline need to make a request observable: the logger, the request-id
 * source, and tracing (null when off, the default: one null test per request is all it costs).
 */
export interface Observe {
  log: Logger;
  ids: RequestIds;
  tracing: Tracing | null;
  /** A debug line per finished request (fixed at start: --log-level debug or trace). */
  access: boolean;
}

/** Nothing logged, nothing traced: for code built without the sidecar's wiring (tests, benches). */
export function quietObserve(): Observe {
  return { log: silentLogger(), ids: requestIds, tracing: null, access: false };
}

export { RequestIds };
