/**
 * What the load generator sends and to what. Every protocol (HTTP text, HTTP token ids, and the
 * gRPC Scorer once it exists) sits behind ScoreTarget, so the step runner and the SLO search
 * never know which wire format they are measuring.
 */

/** A prompt part as both text and Qwen3 ids; `id` is stable within a corpus. */
export interface PromptPart {
  readonly id: number;
  readonly text: string;
  readonly ids: Int32Array;
}

/** One scoring request: a shared prefix (system + query) and its items. */
export interface BenchRequest {
  readonly query: PromptPart;
  readonly items: readonly PromptPart[];
  /** 1 for a fresh search; 2.. for page navigations that return to the same query. */
  readonly page: number;
  /** Which search the request belongs to: pages of one search share it. */
  readonly session: number;
}

/** Produces the request for an arrival; called at send time, in schedule order. */
export interface RequestSource {
  next(scheduledAtMs: number): BenchRequest;
}

/** Status of a finished send: HTTP status codes, plus two codes for failures without one. */
export interface SendResult {
  status: number;
  /** Items the server answered from its score cache (scorecar's x-scorecar-cache-hits). */
  cacheHits?: number;
}

/** The connection failed or was reset before a status arrived. */
export const STATUS_TRANSPORT_ERROR = 0;
/** A 200 whose body is not a score list for every item sent. */
export const STATUS_BAD_BODY = -1;

export interface ScoreTarget {
  /** Label in reports, e.g. "direct text" or "scorecar ids". */
  readonly name: string;
  /** Protocol kind from the target registry: "text", "ids", later "grpc". */
  readonly kind: string;
  /** Where it points (for the report). */
  readonly url: string;
  /**
   * Sends one request. Resolves with a status (never rejects for an HTTP error status); may
   * reject on transport failure or when `signal` aborts it, which the runner counts as a timeout.
   */
  send(req: BenchRequest, signal: AbortSignal): Promise<SendResult>;
  close(): Promise<void>;
}
