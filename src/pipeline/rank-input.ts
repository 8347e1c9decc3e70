import type { JobFields, PromptTemplate } from '../tokenize/prompt-template.js';

/** One /rank candidate: a stable id and a body as text, token ids or structured fields. */
export interface RankItem {
  id: string;
  text?: string;
  ids?: number[];
  fields?: JobFields;
}

export interface RankInput {
  query: string | number[];
  items: RankItem[];
  template: PromptTemplate;
  /** Body tokens scored per item (cut between the template's fixed parts); absent: all. */
  maxTokensPerItem?: number | null;
}

/**
 * scorecar's own /rank request (design.md §3), as HTTP and gRPC both parse it
 * (api/rank-request.ts): a query, candidates with stable ids in retrieval order, a template, and
 * optional top_k, depth, deadline, priority and per-item token cap.
 */
export interface RankRequest {
  query: string | number[];
  items: RankItem[];
  template: PromptTemplate;
  topK: number | null;
  depth: number | null;
  deadlineMs: number | null;
  priority: 'online' | 'nearline' | null;
  /** Tokens of an item's body that are scored (the template's fixed parts never cut); null: all. */
  maxTokensPerItem: number | null;
}
