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
  /**
   * The instruction the prefix carries (templates that take one, like Qwen3-Reranker's), or
   * null. withInstruction() gives the template for another instruction.
   */
  readonly instruction: string | null;
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
  instruction: null,
};

/**
 * The prompt of the Qwen3-Reranker model card: a system turn asking whether the Document meets
 * the requirements given the Query and the Instruct, answering only "yes" or "no"; a user turn of
 * `<Instruct>:`, `<Query>:` and `<Document>:` lines; the assistant turn opened with an empty think
 * block. Scored on "yes" (9693) vs "no" (2152); relevance is P(yes).
 *
 * The split: the prefix ends after the `<Query>:` line's newline, the item starts with
 * `<Document>:`, a pre-tokenizer boundary (a newline never joins the '<' that follows it). The
 * item's ids are tokens("<Document>:") ++ tokens(" " + document) ++ tokens(suffix): the space
 * after the colon starts a new piece and the suffix starts with a special token, so a document
 * can be truncated or windowed at the id level between the two fixed parts.
 */
const RERANKER_SYSTEM =
  'Judge whether the Document meets the requirements based on the Query and the Instruct provided. ' +
  'Note that the answer can only be "yes" or "no".';
const RERANKER_PREFIX_HEAD = `<|im_start|>system\n${RERANKER_SYSTEM}<|im_end|>\n<|im_start|>user\n`;
export const RERANKER_DEFAULT_INSTRUCTION = 'Given a web search query, retrieve relevant passages that answer the query';

function rerankerTemplate(instruction: string): PromptTemplate {
  const head = `${RERANKER_PREFIX_HEAD}<Instruct>: ${instruction}\n<Query>: `;
  return {
    name: 'qwen3-reranker',
    version: 1,
    labelTokenIds: [9693, 2152],
    prefix: (query) => `${head}${query}\n`,
    prefixAroundIds: [head, '\n'],
    item: (body) => `<Document>: ${body}${ITEM_SUFFIX}`,
    itemAroundIds: ['<Document>:', ITEM_SUFFIX],
    renderFields: (f) => QWEN3_YES_NO.renderFields(f),
    instruction,
  };
}

export const QWEN3_RERANKER: PromptTemplate = rerankerTemplate(RERANKER_DEFAULT_INSTRUCTION);

/**
 * The template for another instruction. Its identity (name@version, folded into every cache
 * key) carries the instruction, so two instructions never share a cached prefix or score.
 */
export function withInstruction(t: PromptTemplate, instruction: string): PromptTemplate {
  if (t.instruction === null) throw new Error(`template ${t.name} takes no instruction`);
  if (instruction === t.instruction) return t;
  const derived = rerankerTemplate(instruction);
  return { ...derived, name: `${t.name}\u0000${instruction}` };
}

const TEMPLATES = new Map<string, PromptTemplate>([
  [QWEN3_YES_NO.name, QWEN3_YES_NO],
  [QWEN3_RERANKER.name, QWEN3_RERANKER],
]);

export function templateByName(name: string): PromptTemplate | undefined {
  return TEMPLATES.get(name);
}

export const TEMPLATE_NAMES = [...TEMPLATES.keys()];
