/**
 * The default Qwen3 yes/no relevance prompt, split into a shared prefix and an item part:
 *
 *   prefix = system turn (chat tags + instructions) + user turn opening + query + "\n"
 *   item   = metadata lines + "Description:\n" + description + answer suffix
 *
 * The split sits where Qwen3's pre-tokenizer always breaks: the prefix ends with a newline and
 * the item starts with a letter, so encode(prefix + item) === encode(prefix) ++ encode(item)
 * (test/bench/workload.test.ts checks it with the real tokenizer). Inside the item the same
 * holds at both ends of the description: "Description:\n" ends in punctuation + newline (one
 * pre-token) and the description starts with a letter; the suffix starts with an added token,
 * which the tokenizer cuts out before anything else. That lets the corpus truncate a description
 * by token ids and know the exact length of the item it lands in.
 *
 * For SGLang's /v1/score: query = prefix, items = item parts (single-item mode joins them as
 * query + item, which is exactly the prompt).
 */

import { QWEN3_YES_NO as SRC_TEMPLATE } from '../../src/tokenize/prompt-template.js';

export interface JobFields {
  title: string;
  company: string;
  location: string;
  employmentType: string;
  /** Remote eligibility as shown to the model: "yes", "no" or "hybrid". */
  remote: 'yes' | 'no' | 'hybrid';
}

export interface PromptTemplate {
  readonly name: string;
  /** Bumped on any change to the text below; belongs in every cache key built from it. */
  readonly version: number;
  /** Qwen3 ids of the answer labels, in /v1/score's label_token_ids order. */
  readonly labelTokenIds: readonly [yes: number, no: number];
  /** Token budget reserved for the prefix: queries whose prefix is longer are rejected. */
  readonly prefixTokenBudget: number;
  /** Prompts never exceed this many tokens: items are truncated to maxPromptTokens - budget. */
  readonly maxPromptTokens: number;
  prefix(query: string): string;
  /** Item part before the description. */
  itemHead(f: JobFields): string;
  /** Item part after the description. */
  readonly itemSuffix: string;
}

/**
 * The bench's view of scorecar's own template (src/tokenize/prompt-template.ts), so the corpus,
 * direct requests and /rank all build exactly the same prompts.
 */
export const QWEN3_YES_NO: PromptTemplate = {
  name: SRC_TEMPLATE.name,
  version: SRC_TEMPLATE.version,
  labelTokenIds: SRC_TEMPLATE.labelTokenIds,
  prefixTokenBudget: 80,
  maxPromptTokens: 2048,
  prefix: (query) => SRC_TEMPLATE.prefix(query),
  itemHead: (f) =>
    SRC_TEMPLATE.itemAroundIds[0] +
    SRC_TEMPLATE.renderFields({ title: f.title, company: f.company, location: f.location, employment_type: f.employmentType, remote: f.remote, description: '' }),
  itemSuffix: SRC_TEMPLATE.itemAroundIds[1],
};

/** Largest item part, in tokens, that keeps every prompt within maxPromptTokens. */
export function itemTokenCap(t: PromptTemplate): number {
  return t.maxPromptTokens - t.prefixTokenBudget;
}
