import type { Metadata, ServiceError } from '@grpc/grpc-js';
import { type ScoreResponseMsg, type TimingMsg, pb } from '../api/grpc/messages.js';

/** What scorecar did for one request (its x-scorecar-* figures). */
export interface Timing {
  items: number;
  cacheHits: number;
  tokenizeMs: number;
  queueMs: number;
  backendMs: number;
  totalMs: number;
}

/** A Score answer: `scores` is row-major, n_items x nLabels (see scoreRows). */
export interface ScoreResult {
  scores: number[];
  nLabels: number;
  model: string;
  promptTokens: number;
  timing: Timing;
}

/** A failed call or a failed request on a stream: the gRPC status, message and retry hint. */
export class ScorerError extends Error {
  constructor(
    readonly code: number,
    readonly details: string,
    /** Seconds the server asks to wait before retrying (RESOURCE_EXHAUSTED, UNAVAILABLE). */
    readonly retryAfterS: number | null,
  ) {
    super(`${code} ${details}`);
    this.name = 'ScorerError';
  }

  static fromServiceError(e: ServiceError): ScorerError {
    const ra = e.metadata?.get('retry-after')[0];
    return new ScorerError(e.code, e.details, typeof ra === 'string' && ra !== '' ? Number(ra) : null);
  }
}

/** Encodes a message with generated code into the Buffer grpc-js sends. */
export function toBuffer(u: Uint8Array): Buffer {
  return Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

function num(m: Metadata, key: string): number {
  const v = m.get(key)[0];
  return typeof v === 'string' ? Number(v) : 0;
}

export function timingFromMetadata(m: Metadata): Timing {
  return {
    items: num(m, 'x-scorecar-items'),
    cacheHits: num(m, 'x-scorecar-cache-hits'),
    tokenizeMs: num(m, 'x-scorecar-tokenize-ms'),
    queueMs: num(m, 'x-scorecar-queue-ms'),
    backendMs: num(m, 'x-scorecar-backend-ms'),
    totalMs: num(m, 'x-scorecar-total-ms'),
  };
}

export function timingFromMessage(t: TimingMsg | null | undefined): Timing {
  return {
    items: t?.items ?? 0,
    cacheHits: t?.cacheHits ?? 0,
    tokenizeMs: t?.tokenizeMs ?? 0,
    queueMs: t?.queueMs ?? 0,
    backendMs: t?.backendMs ?? 0,
    totalMs: t?.totalMs ?? 0,
  };
}

export function scoreResult(r: ScoreResponseMsg, timing: Timing): ScoreResult {
  return { scores: r.scores ?? [], nLabels: r.nLabels ?? 0, model: r.model ?? '', promptTokens: r.usage?.promptTokens ?? 0, timing };
}

/** The packed scores as one row per item, like SGLang's JSON `scores`. */
export function scoreRows(r: Pick<ScoreResult, 'scores' | 'nLabels'>): number[][] {
  const rows: number[][] = [];
  if (r.nLabels === 0) return rows;
  for (let i = 0; i < r.scores.length; i += r.nLabels) rows.push(r.scores.slice(i, i + r.nLabels));
  return rows;
}

/** Items' token ids as one PackedTokenIds (the cheapest form to send and to decode). */
export function packTokenIds(items: ReadonlyArray<ArrayLike<number>>): { ids: number[]; lengths: number[] } {
  const ids: number[] = [];
  const lengths: number[] = [];
  for (const it of items) {
    for (let j = 0; j < it.length; j++) ids.push(it[j] as number);
    lengths.push(it.length);
  }
  return { ids, lengths };
}

export const decodeScoreResponse = (b: Buffer): ScoreResponseMsg => pb.ScoreResponse.decode(b);
