import type { ScoreJob } from './score-job.js';

/**
 * usage.prompt_tokens as SGLang 0.5.23 reports it for the request the client sent, whatever
 * splitting, coalescing or cache hits happened here (tokenizer_manager_score_mixin.py):
 *  - single-item: one prompt per item (query + item, or item + query), and prompt_tokens is the
 *    sum of each prompt's tokens (_process_single_item_scoring_results);
 *  - multi-item: one sequence query<d>item1<d>...<d>itemN<d>, so query + items + N + 1
 *    delimiters (_build_multi_item_token_sequence; the pack's meta_info prompt_tokens).
 * Score-cache entries carry each item's share (itemShare) and the query's tokens, so a hit
 * reports what a miss would. Returns -1 when a backend gave usage null for any part of the
 * request: then scorecar's answer has usage null too.
 */
export function requestUsage(job: ScoreJob, mis: boolean): number {
  if (job.usageNull) return -1;
  const n = job.n;
  if (n === 0) return 0;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const t = job.cacheHit[i] === 1 ? (job.itemTokens[i] as number) : itemShare(job, i, mis);
    if (t < 0) return -1;
    sum += t;
  }
  if (!mis) return sum;
  const q = job.nActive > 0 ? job.qLen : job.cachedQueryTokens;
  if (q < 0) return -1;
  return sum + q + n + 1;
}

/** Tokens item i (resolved, not a cache hit) adds: its whole prompt (single-item) or its own ids (multi-item). */
export function itemShare(job: ScoreJob, i: number, mis: boolean): number {
  return mis ? (job.aLen[i] as number) + (job.bLen[i] as number) : job.promptLength(i);
}
