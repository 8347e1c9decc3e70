/**
 * Prompt templates for /rank: each prompt is a shared prefix (system turn + query) and an item
 * part (framing + body + answer suffix). The split sits where Qwen3's pre-tokenizer always
 * breaks: the prefix ends with a newline and the item part starts with a letter, so
 * encode(prefix + item) === encode(prefix) ++ encode(item) (test/tokenize proves it on a
 * corpus). That is what lets scorecar tokenize and cache the two halves separately and send
 * them as /v1/score's query and items in either backend mode.
 */

/** Structured job fields a /rank item may carry instead of a rendered body. */
export interface JobFields {
  title?: string;
  company?: string;
  location?: string;
  employment_type?: string;
  remote?: string | boolean;
  description?: string;
}

export interface PromptTemplate {
  readonly name: string;
  /** Bumped on any change to the text; part of every cache key built from it. */
  readonly version: number;
  /** Label ids in /v1/score order: the score is P(labels[0]) after a softmax over the labels. */
  readonly labelTokenIds: readonly [yes: number, no: number];
  /** The prefix text for a text query. */
  prefix(query: string): string;
  /** The prefix around a query given as token ids: text before and after the ids. */
  readonly prefixAroundIds: readonly [before: string, after: string];
  /** The item part for a rendered body. */
  item(body: string): string;
  /** The item part around a body given as token ids. */
  readonly itemAroundIds: readonly [before: string, after: string];
  /** Renders structured fields into a body. */
  renderFields(f: JobFields): string;
}

const SYSTEM =
  'You are a relevance judge for a job search engine. Decide whether the job posting matches ' +
  'what the job seeker is looking for. Answer only "yes" or "no".';
const PREFIX_HEAD = `<|im_start|>system\n${SYSTEM}<|im_end|>\n<|im_start|>user\nSearch query: `;
const ITEM_HEAD = 'Job posting\n';
// Qwen3's chat template with thinking turned off: the next token after this is the answer.
const ITEM_SUFFIX = '<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n';

function remoteText(r: JobFields['remote']): string {
  if (r === true) return 'yes';
  if (r === false || r === undefined) return 'no';
  return r;
}

export const QWEN3_YES_NO: PromptTemplate = {
  name: 'qwen3-yes-no',
  version: 1,
  labelTokenIds: [9693, 2152],
  prefix: (query) => `${PREFIX_HEAD}${query}\n`,
  prefixAroundIds: [PREFIX_HEAD, '\n'],
  item: (body) => `${ITEM_HEAD}${body}${ITEM_SUFFIX}`,
  itemAroundIds: [ITEM_HEAD, ITEM_SUFFIX],
  renderFields: (f) =>
    `Title: ${f.title ?? ''}\nCompany: ${f.company ?? ''}\nLocation: ${f.location ?? ''}\n` +
    `Employment type: ${f.employment_type ?? ''}\nRemote: ${remoteText(f.remote)}\nDescription:\n${f.description ?? ''}`,
};

const TEMPLATES = new Map<string, PromptTemplate>([[QWEN3_YES_NO.name, QWEN3_YES_NO]]);

export function templateByName(name: string): PromptTemplate | undefined {
  return TEMPLATES.get(name);
}

export const TEMPLATE_NAMES = [...TEMPLATES.keys()];
