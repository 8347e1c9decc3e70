/**
 * Messages between the main thread and the tokenizer workers. One task per client request:
 * per-task overhead on the main thread is ~100 µs, so batching matters more than anything.
 */

/** Tokenize text a alone (what MIS, the prefix cache and the item cache need). */
export const OP_ALONE = 0;
/** Tokenize text a + text b as one string (SGLang single-item semantics). */
export const OP_JOIN = 1;
/**
 * Text a is an item, text b the query. Tokenize the item alone (for the cache) and, when the
 * join with the query is not provably exact, also the joined string. Flag bit 1: item first.
 */
export const OP_PAIR = 2;

export const PAIR_ITEM_FIRST = 1;

export interface EncodeTask {
  type: 'encode';
  /**
   * Texts either as JSON string bodies (escaped, without quotes) inside `bytes`, delimited by
   * `spans` ([start, end) pairs), or as plain strings.
   */
  bytes?: Uint8Array;
  spans?: Int32Array;
  texts?: string[];
  /** Triples: kind, a, b (b = flags for OP_PAIR's item-first bit in the high half). */
  ops: Int32Array;
  /** Compute edge keys for OP_ALONE / OP_PAIR results (the sidecar's token caches need them). */
  wantEdges: boolean;
}

export interface DecodeTask {
  type: 'decode';
  ids: Int32Array;
  skipSpecialTokens: boolean;
}

export type TokenizeTask = EncodeTask | DecodeTask;

/**
 * Result layout, one Int32Array: [nOps, then per op: offset, length, joinOffset, joinLength,
 * then all ids]. Offsets index the same array. joinOffset is -1 when no joined encoding was
 * needed (OP_ALONE, or OP_PAIR whose join is exact).
 */
export const RESULT_HEADER = 1;
export const RESULT_STRIDE = 4;

export interface EncodeResult {
  packed: Int32Array;
  /** Two edge keys (left, right) per op when wantEdges, else empty. */
  edges: string[];
}

export interface DecodeResult {
  text: string;
}

export interface WorkerInit {
  tokenizerPath: string;
  /** Expected sha256 of tokenizer.json, or null to skip the check. */
  sha256: string | null;
}
