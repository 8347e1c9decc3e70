import type { RankItem, RankRequest } from '../pipeline/rank-input.js';
import type { JobFields } from '../tokenize/prompt-template.js';
import { templateByName, TEMPLATE_NAMES } from '../tokenize/prompt-template.js';

export type { RankRequest };

export class RankRequestError extends Error {}

const FIELD_KEYS: ReadonlyArray<keyof JobFields> = ['title', 'company', 'location', 'employment_type', 'remote', 'description'];

function positiveInt(v: unknown, name: string): number | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new RankRequestError(`${name} must be a positive integer`);
  return v;
}

function idList(v: unknown, name: string): number[] {
  if (!Array.isArray(v) || !v.every((x) => Number.isInteger(x) && x >= -2147483648 && x <= 2147483647)) {
    throw new RankRequestError(`${name} must be a list of 32-bit integer token ids`);
  }
  return v as number[];
}

function rankItem(v: unknown, i: number): RankItem {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new RankRequestError(`items[${i}] must be an object`);
  const o = v as Record<string, unknown>;
  if (typeof o.id !== 'string' || o.id.length === 0) throw new RankRequestError(`items[${i}].id must be a non-empty string`);
  const bodies = ['text', 'ids', 'fields'].filter((k) => o[k] !== undefined && o[k] !== null);
  if (bodies.length !== 1) throw new RankRequestError(`items[${i}] must have exactly one of text, ids or fields`);
  if (o.text !== undefined && o.text !== null) {
    if (typeof o.text !== 'string') throw new RankRequestError(`items[${i}].text must be a string`);
    return { id: o.id, text: o.text };
  }
  if (o.ids !== undefined && o.ids !== null) return { id: o.id, ids: idList(o.ids, `items[${i}].ids`) };
  const f = o.fields;
  if (typeof f !== 'object' || f === null || Array.isArray(f)) throw new RankRequestError(`items[${i}].fields must be an object`);
  const fields: JobFields = {};
  for (const [k, val] of Object.entries(f as Record<string, unknown>)) {
    if (!FIELD_KEYS.includes(k as keyof JobFields)) throw new RankRequestError(`items[${i}].fields.${k} is not one of ${FIELD_KEYS.join(', ')}`);
    if (k === 'remote' ? typeof val !== 'string' && typeof val !== 'boolean' : typeof val !== 'string') {
      throw new RankRequestError(`items[${i}].fields.${k} must be a string${k === 'remote' ? ' or a boolean' : ''}`);
    }
    (fields as Record<string, unknown>)[k] = val;
  }
  return { id: o.id, fields };
}

/** Validates a decoded /rank body; throws RankRequestError with a message for the client. */
export function parseRankRequest(value: unknown, maxItems: number): RankRequest {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new RankRequestError('the body must be a JSON object');
  const b = value as Record<string, unknown>;
  let query: string | number[];
  if (typeof b.query === 'string') query = b.query;
  else if (Array.isArray(b.query)) query = idList(b.query, 'query');
  else throw new RankRequestError('query must be a string or a list of token ids');
  if (!Array.isArray(b.items)) throw new RankRequestError('items must be a list');
  if (b.items.length > maxItems) throw new RankRequestError(`Too many items: ${b.items.length} > ${maxItems} (scorecar --max-items)`);
  const items = b.items.map(rankItem);
  const seen = new Set<string>();
  for (const it of items) {
    if (seen.has(it.id)) throw new RankRequestError(`duplicate item id ${JSON.stringify(it.id)}`);
    seen.add(it.id);
  }
  const templateName = b.template ?? 'qwen3-yes-no';
  const template = typeof templateName === 'string' ? templateByName(templateName) : undefined;
  if (!template) throw new RankRequestError(`unknown template ${JSON.stringify(templateName)}; one of ${TEMPLATE_NAMES.join(', ')}`);
  let deadlineMs: number | null = null;
  if (b.deadline_ms !== undefined && b.deadline_ms !== null) {
    if (typeof b.deadline_ms !== 'number' || !(b.deadline_ms > 0)) throw new RankRequestError('deadline_ms must be a positive number');
    deadlineMs = b.deadline_ms;
  }
  let priority: RankRequest['priority'] = null;
  if (b.priority !== undefined && b.priority !== null) {
    if (b.priority !== 'online' && b.priority !== 'nearline') throw new RankRequestError('priority must be "online" or "nearline"');
    priority = b.priority;
  }
  return {
    query,
    items,
    template,
    topK: positiveInt(b.top_k, 'top_k'),
    depth: positiveInt(b.depth, 'depth'),
    deadlineMs,
    priority,
    maxTokensPerItem: positiveInt(b.max_tokens_per_item, 'max_tokens_per_item'),
  };
}
