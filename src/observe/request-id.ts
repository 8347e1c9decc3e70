import { randomBytes } from 'node:crypto';

/** The header (and gRPC metadata key) a request id travels in, both ways. */
export const REQUEST_ID_HEADER = 'x-request-id';

/** Longest client id kept; longer ones are replaced (a log field and a header must stay small). */
export const MAX_REQUEST_ID_LENGTH = 128;

/**
 * Whether a client's id may be used as is: 1 to 128 characters of visible ASCII (0x21-0x7e), so
 * it can neither split a log line or a header nor smuggle control characters into either.
 */
export function validRequestId(id: string): boolean {
  const n = id.length;
  if (n === 0 || n > MAX_REQUEST_ID_LENGTH) return false;
  for (let i = 0; i < n; i++) {
    const c = id.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

/**
 * Ids scorecar makes for requests that bring none (or an invalid one): a random per-process
 * prefix and a counter, e.g. `sc-3f9a1c2b7d4e-1a`. Unique across replicas with high probability
 * (48 random bits per process), ordered within one, and about 50 ns to make: randomUUID() would
 * cost a few times that for no gain here. Batch ids (one backend call carrying several coalesced
 * requests) come from the same counter with a `b` in place of the request's prefix.
 */
export class RequestIds {
  private n = 0;
  private readonly prefix: string;
  private readonly batchPrefix: string;

  constructor(seed: string = randomBytes(6).toString('hex')) {
    this.prefix = `sc-${seed}-`;
    this.batchPrefix = `scb-${seed}-`;
  }

  next(): string {
    return this.prefix + (++this.n).toString(36);
  }

  nextBatch(): string {
    return this.batchPrefix + (++this.n).toString(36);
  }

  /** The client's id when valid, else a new one. `header` is what node parsed (repeated: first). */
  accept(header: string | string[] | undefined): string {
    const id = typeof header === 'string' ? header : Array.isArray(header) ? header[0] : undefined;
    return id !== undefined && validRequestId(id) ? id : this.next();
  }
}

/** One per process: ids stay unique when several APIs (HTTP, gRPC) make them. */
export const requestIds = new RequestIds();
