import type { CorpusMode } from '../workload/corpus.js';
import { buildCorpus } from '../workload/corpus.js';
import { qwen3Tokenizer } from '../workload/tokenizer.js';
import { Rng } from '../rng.js';
import type { SimWorkload } from './simulate.js';

/**
 * The paper's Table 7: items/s per H100 at p95 <= 500 ms, 10-item requests under Poisson
 * arrivals, SGLang fed text. These are the figures the cost model is fitted to.
 */
export interface Table7Case {
  label: string;
  profile: 'qwen3-0.6b' | 'pruned-375m';
  corpus: CorpusMode;
  itemsPerSecond: number;
}

export const TABLE7: readonly Table7Case[] = [
  { label: 'Original (0.6B, full descriptions)', profile: 'qwen3-0.6b', corpus: 'full', itemsPerSecond: 330 },
  { label: 'Pruned (375M, full descriptions)', profile: 'pruned-375m', corpus: 'full', itemsPerSecond: 420 },
  { label: 'Pruned and summarized (375M)', profile: 'pruned-375m', corpus: 'summarized', itemsPerSecond: 1530 },
];

export const ITEMS_PER_REQUEST = 10;

/** Prompt lengths of 10-item requests drawn from the bench corpus (the workload the bench sends). */
export function sampleWorkload(mode: CorpusMode, seed = 1, requests = 400): SimWorkload {
  const corpus = buildCorpus({ seed, mode, jobs: 400, queries: 60 }, qwen3Tokenizer());
  const rng = new Rng(seed ^ 0x7ab1e7);
  const out: number[][] = [];
  for (let r = 0; r < requests; r++) {
    const q = corpus.queries[rng.int(corpus.queries.length)]!;
    const lens: number[] = [];
    for (let i = 0; i < ITEMS_PER_REQUEST; i++) lens.push(q.ids.length + corpus.items[rng.int(corpus.items.length)]!.ids.length);
    out.push(lens);
  }
  return { requests: out };
}
