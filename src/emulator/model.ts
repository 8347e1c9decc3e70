/**
 * The emulator's stand-in for Qwen3's next-token distribution. It is a pure function of the
 * prompt's token ids, so every route (text or ids, /v1/score single or MIS, /generate) gives
 * the same numbers for the same ids, and a proxy can be checked for transparency.
 *
 * A prompt's ids hash to a relevance r in (0, 1). The yes-family labels share 90% * r of the
 * probability mass, the no-family 90% * (1 - r), and every other token a tiny hashed share, so
 * softmax over (yes, no) = r and raw probabilities look like a real reranker's.
 * Logprobs are rounded to float32, as they leave a GPU.
 */

export const YES_ID = 9693;
export const NO_ID = 2152;
const FAMILY: ReadonlyMap<number, readonly [yes: boolean, share: number]> = new Map([
  [9693, [true, 0.7]], // "yes"
  [9454, [true, 0.3]], // "Yes"
  [2152, [false, 0.7]], // "no"
  [2753, [false, 0.3]], // "No"
]);
const LABEL_MASS = 0.9;
const VOCAB = 151669;

/** FNV-1a over 32-bit ids, then a murmur3 finaliser. Incremental, so segments need no concat. */
export const HASH_INIT = 0x811c9dc5;

export function hashIds(h: number, ids: ArrayLike<number>, start = 0, end = ids.length): number {
  for (let i = start; i < end; i++) {
    const v = ids[i] as number;
    h = Math.imul(h ^ (v & 0xff), 0x01000193);
    h = Math.imul(h ^ ((v >>> 8) & 0xff), 0x01000193);
    h = Math.imul(h ^ ((v >>> 16) & 0xff), 0x01000193);
    h = Math.imul(h ^ (v >>> 24), 0x01000193);
  }
  return h;
}

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Relevance in (0, 1) for a prompt hash. */
export function relevance(promptHash: number): number {
  const u = fmix(promptHash) / 4294967296;
  const z = (u - 0.5) * 9; // logits spread over about [-4.5, 4.5]
  return 1 / (1 + Math.exp(-z));
}

/** log P(token | prompt) as a float32 value. */
export function tokenLogprob(promptHash: number, tokenId: number): number {
  const fam = FAMILY.get(tokenId);
  let p: number;
  if (fam) {
    const r = relevance(promptHash);
    p = LABEL_MASS * fam[1] * (fam[0] ? r : 1 - r);
  } else {
    const u = fmix(promptHash ^ Math.imul(tokenId + 1, 0x9e3779b1)) / 4294967296;
    p = ((1 - LABEL_MASS) * (0.5 + u)) / VOCAB;
  }
  return Math.fround(Math.log(p));
}

/**
 * /v1/score's conversion in SGLang 0.5.23 (_convert_logprobs_to_scores,
 * tokenizer_manager_score_mixin.py:1260-1285): exp(logprob) per label, or a softmax over the
 * labels' logprobs divided by the temperature, centred on the maximum, in Python floats.
 */
export function scoreRow(promptHash: number, labels: ArrayLike<number>, applySoftmax: boolean, out: number[], temperature = 1): void {
  out.length = labels.length;
  if (!applySoftmax) {
    for (let i = 0; i < labels.length; i++) out[i] = Math.exp(tokenLogprob(promptHash, labels[i] as number));
    return;
  }
  let max = -Infinity;
  for (let i = 0; i < labels.length; i++) {
    const lp = tokenLogprob(promptHash, labels[i] as number);
    out[i] = lp;
    if (lp > max) max = lp;
  }
  let sum = 0;
  for (let i = 0; i < labels.length; i++) {
    const e = Math.exp(((out[i] as number) - max) / temperature);
    out[i] = e;
    sum += e;
  }
  for (let i = 0; i < labels.length; i++) out[i] = (out[i] as number) / sum;
}

/** A deterministic "generated" token for /generate with max_new_tokens > 0. */
export function nextToken(promptHash: number): number {
  // Plain word-piece ids (below the special-token range), so detokenized text is printable.
  return 1000 + (fmix(promptHash ^ 0x5bd1e995) % 20000);
}
