/**
 * The emulator's cost model of one GPU serving prefill-only requests. All times are in
 * microseconds. A forward step over a batch of prompt chunks costs
 *
 *   stepLaunchUs + perTokenUs * tokens + attnUs * attention_pairs + perSeqUs * sequences
 *
 * where attention_pairs counts (query token, key token) pairs the attention kernels touch: a
 * causal prompt of n tokens touches n(n+1)/2, and a multi-item pack touches the shared prefix
 * once plus each item against the prefix and itself.
 *
 * Before a request reaches the scheduler it passes SGLang's front end: uvicorn, FastAPI and the
 * TokenizerManager share one asyncio thread in one process, a single serial resource. Every
 * /v1/score request occupies it for
 *
 *   frontEndPerRequestUs + frontEndPerSeqUs * sequences + frontEndPerTokenUs * prompt_tokens
 *
 * (sequences: what the tokenizer manager sends to the scheduler and collects, one per item in
 * single-item mode, one per pack in multi-item or exact-prefix mode), ids and text alike; text
 * prompts then also pay the tokenizer (tokenizeCostUs) on the same resource. Those three terms
 * are the front end's cost with one request in flight; with more in flight its asyncio loop
 * handles several per wake-up and each costs less, which frontEndCurve gives as measured points
 * (interpolated in log2 of the requests in flight, held flat outside the measured range).
 *
 * These are modelled costs of a simulated GPU, never measurements of a real one.
 */
export interface CostParams {
  stepLaunchUs: number;
  perTokenUs: number;
  attnUs: number;
  perSeqUs: number;
  /** Token budget of one prefill step (SGLang --max-prefill-tokens). */
  maxPrefillTokens: number;
  /** Chunk size for long prompts (SGLang --chunked-prefill-size); -1 disables chunking. */
  chunkedPrefillSize: number;
  /** Latency added per request outside the serial front end (detokenizer, IPC hops); not a resource. */
  requestOverheadUs: number;
  /** SGLang's serial front end per /v1/score request, ids or text (bench/results/sglang-serial-cost.md). */
  frontEndPerRequestUs: number;
  /** Front-end cost per sequence handed to the scheduler (an item, or a whole pack). */
  frontEndPerSeqUs: number;
  /** Front-end cost per prompt token the request carries. */
  frontEndPerTokenUs: number;
  /**
   * The three front-end terms measured with more requests in flight, by ascending concurrency
   * (above 1); empty: the terms above apply at any concurrency.
   */
  frontEndCurve: ReadonlyArray<FrontEndPoint>;
  /** SGLang's tokenizer: fixed cost per text and cost per produced token. */
  tokenizePerTextUs: number;
  tokenizePerTokenUs: number;
  /** --enable-tokenizer-batch-encode: texts of one request share one tokenizer call. */
  batchTokenize: boolean;
  /** One decode step for /generate with max_new_tokens > 0. */
  decodeStepUs: number;
}

/** The front end's per-request, per-sequence and per-token cost with `concurrency` requests in flight. */
export interface FrontEndPoint {
  concurrency: number;
  perRequestUs: number;
  perSeqUs: number;
  perTokenUs: number;
}

export const ZERO_COST: CostParams = {
  stepLaunchUs: 0,
  perTokenUs: 0,
  attnUs: 0,
  perSeqUs: 0,
  maxPrefillTokens: 16384,
  chunkedPrefillSize: 8192,
  requestOverheadUs: 0,
  frontEndPerRequestUs: 0,
  frontEndPerSeqUs: 0,
  frontEndPerTokenUs: 0,
  frontEndCurve: [],
  tokenizePerTextUs: 0,
  tokenizePerTokenUs: 0,
  batchTokenize: false,
  decodeStepUs: 0,
};

/** The paper's Table 8: batch tokenization speedup at batch 1, 2, 4, 8 (log-interpolated). */
const BATCH_SPEEDUP: ReadonlyArray<readonly [number, number]> = [
  [1, 1.0],
  [2, 1.7],
  [4, 2.8],
  [8, 5.2],
];

export function batchTokenizeSpeedup(texts: number): number {
  if (texts <= 1) return 1;
  for (let i = 1; i < BATCH_SPEEDUP.length; i++) {
    const [b1, s1] = BATCH_SPEEDUP[i - 1] as readonly [number, number];
    const [b2, s2] = BATCH_SPEEDUP[i] as readonly [number, number];
    if (texts <= b2) {
      const f = Math.log(texts / b1) / Math.log(b2 / b1);
      return s1 + f * (s2 - s1);
    }
  }
  // Beyond 8 the gain keeps the last slope per doubling, but a tokenizer cannot beat one pass.
  const [bl, sl] = BATCH_SPEEDUP[BATCH_SPEEDUP.length - 1] as readonly [number, number];
  return Math.min(texts, sl * (texts / bl) ** 0.6);
}

/** Tokenizer time for one request's texts. */
export function tokenizeCostUs(p: CostParams, textTokens: ArrayLike<number>): number {
  const n = textTokens.length;
  if (n === 0) return 0;
  let tokens = 0;
  for (let i = 0; i < n; i++) tokens += textTokens[i] as number;
  const serial = n * p.tokenizePerTextUs + tokens * p.tokenizePerTokenUs;
  return p.batchTokenize ? serial / batchTokenizeSpeedup(n) : serial;
}

/**
 * Serial front-end time of one request that hands `sequences` sequences of `tokens` in all to the
 * scheduler, with `inFlight` requests (itself included) in the server.
 */
export function frontEndCostUs(p: CostParams, sequences: number, tokens: number, inFlight = 1): number {
  const curve = p.frontEndCurve;
  let lo: FrontEndPoint = { concurrency: 1, perRequestUs: p.frontEndPerRequestUs, perSeqUs: p.frontEndPerSeqUs, perTokenUs: p.frontEndPerTokenUs };
  let f = 0;
  let hi = lo;
  for (const pt of curve) {
    hi = pt;
    if (inFlight <= pt.concurrency) break;
    lo = pt;
  }
  if (inFlight > lo.concurrency && hi !== lo) {
    f = Math.log2(inFlight / lo.concurrency) / Math.log2(hi.concurrency / lo.concurrency);
  }
  const at = (a: number, b: number): number => a + f * (b - a);
  return at(lo.perRequestUs, hi.perRequestUs) + at(lo.perSeqUs, hi.perSeqUs) * sequences + at(lo.perTokenUs, hi.perTokenUs) * tokens;
}

export function stepCostUs(p: CostParams, tokens: number, attentionPairs: number, sequences: number): number {
  return p.stepLaunchUs + p.perTokenUs * tokens + p.attnUs * attentionPairs + p.perSeqUs * sequences;
}

/** Attention pairs of a plain causal prompt. */
export function causalPairs(n: number): number {
  return (n * (n + 1)) / 2;
}

/**
 * Attention pairs of a shared-prefix pack: the prefix once, each item against prefix and itself.
 * A multi-item (MIS) pack carries a delimiter with each item; an exact-prefix pack (patches/)
 * carries none.
 */
export function packPairs(prefix: number, items: ArrayLike<number>, delimiters = true): number {
  let pairs = causalPairs(prefix);
  const extra = delimiters ? 1 : 0; // the delimiter travels with its item
  for (let i = 0; i < items.length; i++) {
    const n = (items[i] as number) + extra;
    pairs += n * prefix + causalPairs(n);
  }
  return pairs;
}

/** One exact-prefix pack: its tokens (prefix + items) and attention pairs. */
export interface Pack {
  tokens: number;
  pairs: number;
}

/**
 * Groups items behind one prefix into exact-prefix packs (patches/' fast path), in order, each
 * at most maxTokens long (the prefix counts once per pack). An item that does not fit even
 * alone with the prefix gets a pack of its own; the caller has refused such prompts already.
 */
export function exactPrefixPacks(prefix: number, items: ArrayLike<number>, maxTokens: number): Pack[] {
  const packs: Pack[] = [];
  let lens: number[] = [];
  let tokens = prefix;
  const flush = (): void => {
    packs.push({ tokens, pairs: packPairs(prefix, lens, false) });
    lens = [];
    tokens = prefix;
  };
  for (let i = 0; i < items.length; i++) {
    const n = items[i] as number;
    if (lens.length > 0 && tokens + n > maxTokens) flush();
    lens.push(n);
    tokens += n;
  }
  if (lens.length > 0) flush();
  return packs;
}
