import { Rng } from '../rng.js';
import { type DescriptionInput, fullDescription, summarizedDescription } from './description.js';
import { jobMetadata, searchQuery } from './jobs.js';
import { type JobFields, type PromptTemplate, QWEN3_YES_NO, itemTokenCap } from './template.js';
import type { TextTokenizer } from './tokenizer.js';
import { FAMILIES } from './vocab.js';

export type CorpusMode = 'full' | 'summarized';

/**
 * Description length model per mode, in Qwen3 tokens before truncation. Log-normal: a long right
 * tail, as posting lengths have. The constants were fitted with the real tokenizer so that whole
 * prompts (prefix + item) average ~900 tokens with ~10% of items cut at the cap (full), and ~220
 * tokens with ~120-token descriptions (summarized); test/bench/workload.test.ts holds them there.
 * charsPerToken turns the token target into the character target the text generators stop at.
 *
 * The paper's two description shares cannot both hold with one template: 94% of 900 tokens
 * leaves ~54 tokens for everything else, while 120 of 220 leaves ~100. The template here
 * (system turn, instructions, query, five metadata lines, answer cue) needs ~95, which fits the
 * summarized figures; full prompts then come out at ~89% description at the same ~900 total.
 */
export interface LengthModel {
  medianTokens: number;
  sigma: number;
  charsPerToken: number;
}

export const LENGTH_MODELS: Readonly<Record<CorpusMode, LengthModel>> = {
  full: { medianTokens: 630, sigma: 0.88, charsPerToken: 5.5 },
  summarized: { medianTokens: 110, sigma: 0.35, charsPerToken: 5.3 },
};

export interface CorpusConfig {
  seed: number;
  mode: CorpusMode;
  jobs: number;
  queries: number;
  template?: PromptTemplate;
}

/** One scoring item: a posting rendered as the template's item part. */
export interface CorpusItem {
  /** Job index: the same posting in the full and the summarized corpus. */
  id: number;
  familyIndex: number;
  fields: JobFields;
  description: string;
  /** Item part of the prompt (metadata + description + answer suffix). */
  text: string;
  /** Qwen3 ids of `text`; the prompt's ids are prefix ids followed by these. */
  ids: Int32Array;
  descriptionTokens: number;
  /** The description was cut by tokens so that the prompt fits maxPromptTokens. */
  truncated: boolean;
}

/** One search: the query and the prompt prefix built from it. */
export interface CorpusQuery {
  id: number;
  familyIndex: number;
  query: string;
  /** Prefix part of the prompt (system turn + query). */
  text: string;
  ids: Int32Array;
}

export interface CorpusStats {
  items: number;
  queries: number;
  meanPrefixTokens: number;
  meanItemTokens: number;
  /** Mean tokens of a whole prompt (prefix + item) over random (query, item) pairs. */
  meanPromptTokens: number;
  maxPromptTokens: number;
  meanDescriptionTokens: number;
  /** Description tokens / prompt tokens, on the means. */
  descriptionShare: number;
  truncatedFraction: number;
}

export interface Corpus {
  seed: number;
  mode: CorpusMode;
  template: PromptTemplate;
  items: CorpusItem[];
  queries: CorpusQuery[];
  /** Item indices per job family, for retrieval-like candidate sets. */
  itemsByFamily: number[][];
  stats: CorpusStats;
}

/** Builds a corpus; identical seeds and sizes give identical texts and ids. */
export function buildCorpus(cfg: CorpusConfig, tokenizer: TextTokenizer): Corpus {
  if (!(cfg.jobs >= 1) || !(cfg.queries >= 1)) throw new Error('a corpus needs at least one job and one query');
  const template = cfg.template ?? QWEN3_YES_NO;
  const encode = (s: string): Int32Array => Int32Array.from(tokenizer.encode(s));
  const suffixIds = encode(template.itemSuffix);
  const items: CorpusItem[] = [];
  for (let i = 0; i < cfg.jobs; i++) items.push(buildItem(cfg, template, i, tokenizer, encode, suffixIds));
  const queries: CorpusQuery[] = [];
  for (let i = 0; i < cfg.queries; i++) queries.push(buildQuery(cfg.seed, template, i, encode));
  const itemsByFamily: number[][] = FAMILIES.map(() => []);
  items.forEach((it, i) => itemsByFamily[it.familyIndex]?.push(i));
  return { seed: cfg.seed, mode: cfg.mode, template, items, queries, itemsByFamily, stats: corpusStats(items, queries) };
}

function buildItem(
  cfg: CorpusConfig,
  template: PromptTemplate,
  index: number,
  tokenizer: TextTokenizer,
  encode: (s: string) => Int32Array,
  suffixIds: Int32Array,
): CorpusItem {
  const meta = jobMetadata(cfg.seed, index);
  const model = LENGTH_MODELS[cfg.mode];
  const rng = Rng.derive(cfg.seed, 'description', cfg.mode, index);
  const targetTokens = rng.logNormal(model.medianTokens, model.sigma);
  const input: DescriptionInput = { fields: meta.fields, family: meta.family, industry: meta.industry };
  const make = cfg.mode === 'full' ? fullDescription : summarizedDescription;
  let description = make(input, Math.round(targetTokens * model.charsPerToken), rng);

  const head = template.itemHead(meta.fields);
  const headIds = encode(head);
  let descIds = encode(description);
  const budget = itemTokenCap(template) - headIds.length - suffixIds.length;
  let truncated = false;
  if (descIds.length > budget) {
    const cut = truncateByTokens(descIds, budget, tokenizer);
    description = cut.text;
    descIds = cut.ids;
    truncated = true;
  }
  const ids = new Int32Array(headIds.length + descIds.length + suffixIds.length);
  ids.set(headIds, 0);
  ids.set(descIds, headIds.length);
  ids.set(suffixIds, headIds.length + descIds.length);
  return {
    id: index,
    familyIndex: meta.familyIndex,
    fields: meta.fields,
    description,
    text: head + description + template.itemSuffix,
    ids,
    descriptionTokens: descIds.length,
    truncated,
  };
}

/**
 * Keeps the first `budget` tokens of a description. The kept text must re-tokenize to exactly
 * those ids (so text and id requests agree); a cut that splits a multi-token word can re-merge
 * differently, so the cut moves left one token at a time until it round-trips.
 */
export function truncateByTokens(
  ids: Int32Array,
  budget: number,
  tokenizer: TextTokenizer,
): { text: string; ids: Int32Array } {
  for (let k = budget; k > 0 && k > budget - 16; k--) {
    const kept = ids.subarray(0, k);
    const text = tokenizer.decode(kept, false);
    const again = tokenizer.encode(text);
    if (again.length === k && again.every((v, j) => v === kept[j])) return { text, ids: Int32Array.from(kept) };
  }
  throw new Error(`no token-exact cut of a description near ${budget} tokens`);
}

function buildQuery(
  seed: number,
  template: PromptTemplate,
  index: number,
  encode: (s: string) => Int32Array,
): CorpusQuery {
  // A query whose prefix exceeds the template's budget would break the prompt cap; redraw it.
  for (let attempt = 0; attempt < 32; attempt++) {
    const q = searchQuery(seed, index, attempt);
    const text = template.prefix(q.text);
    const ids = encode(text);
    if (ids.length <= template.prefixTokenBudget) {
      return { id: index, familyIndex: q.familyIndex, query: q.text, text, ids };
    }
  }
  throw new Error(`query ${index}: no draw fits the prefix budget of ${template.prefixTokenBudget} tokens`);
}

function corpusStats(items: CorpusItem[], queries: CorpusQuery[]): CorpusStats {
  const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
  const meanPrefixTokens = mean(queries.map((q) => q.ids.length));
  const meanItemTokens = mean(items.map((it) => it.ids.length));
  const meanDescriptionTokens = mean(items.map((it) => it.descriptionTokens));
  const meanPromptTokens = meanPrefixTokens + meanItemTokens;
  return {
    items: items.length,
    queries: queries.length,
    meanPrefixTokens,
    meanItemTokens,
    meanPromptTokens,
    maxPromptTokens: Math.max(...queries.map((q) => q.ids.length)) + Math.max(...items.map((it) => it.ids.length)),
    meanDescriptionTokens,
    descriptionShare: meanDescriptionTokens / meanPromptTokens,
    truncatedFraction: items.filter((it) => it.truncated).length / items.length,
  };
}
