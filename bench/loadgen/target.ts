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
  /**
   * Priority class sent as x-scorecar-priority; absent: none is sent (scorecar's default class,
   * online). A PriorityMixSource (loadgen/priority-mix.ts) sets it; the step then measures each
   * class on its own.
   */
  readonly priority?: RequestPriority;
  /** Sent as x-scorecar-deadline-ms (relative ms); absent: no deadline header. */
  readonly deadlineMs?: number;
  /** The client gives up on this request this long after its scheduled time; absent: the step's timeout. */
  readonly timeoutMs?: number;
}

/** scorecar's priority classes: online (interactive) is admitted before nearline (alerts). */
export type RequestPriority = 'online' | 'nearline';

/** Produces the request for an arrival; called at send time, in schedule order. */
export interface RequestSource {
  next(scheduledAtMs: number): BenchRequest;
}

/** Status of a finished send: HTTP status codes, plus two codes for failures without one. */
export interface SendResult {
  status: number;
  /** Items the server answered from its score cache (scorecar's x-scorecar-cache-hits). */
  cacheHits?: number;
  /**
   * Items the server actually scored, when fewer than it was sent (a /rank answer scores the
   * first `depth` candidates only); absent: all of them. Items/s count these.
   */
  scoredItems?: number;
  /** The ranking depth a /rank answer used (its `depth` field). */
  depth?: number;
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
