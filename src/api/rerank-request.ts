import type { PromptTemplate } from '../tokenize/prompt-template.js';
import { TEMPLATE_NAMES, templateByName, withInstruction } from '../tokenize/prompt-template.js';

/**
 * The rerank APIs users already call, parsed into one request:
 *
 * - `/v2/rerank` is Cohere's v2 shape: `model`, `query`, `documents` (strings), `top_n`,
 *   `max_tokens_per_doc`.
 * - `/v1/rerank` is Cohere's v1 shape and Jina's, which share it: `model`, `query`,
 *   `documents` (strings, or objects with a `text` field), `top_n`, `return_documents`
 *   (default false, as in Cohere), and Cohere v1's `max_chunks_per_doc`. scorecar does not need
 *   to tell Cohere v1 from Jina: the fields that differ are all optional, and one response
 *   carries both APIs' fields (Cohere's `id` and `meta`, Jina's `model` and `usage`).
 *
 * scorecar's own additions, in both: `template` (default from --rerank-template) and
 * `instruction` (Qwen3-Reranker's Instruct line; default: the model card's web-search one).
 */
export interface RerankRequest {
  version: 1 | 2;
  model: string | null;
  query: string;
  documents: string[];
  topN: number | null;
  returnDocuments: boolean;
  /** Tokens of a document that are scored (per window when chunking); null: the default cap. */
  maxTokensPerDoc: number | null;
  /** Windows a long document may be split into; 1 = truncate. */
  maxChunksPerDoc: number;
  template: PromptTemplate;
}

export class RerankRequestError extends Error {
  constructor(
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

export interface RerankLimits {
  maxDocuments: number;
  defaultTemplate: PromptTemplate;
}

function posInt(v: unknown, name: string): number | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new RerankRequestError(`invalid request: ${name} must be an integer`);
  if (v < 1) throw new RerankRequestError(`invalid request: ${name} must be greater than 0`);
  return v;
}

export function parseRerankRequest(value: unknown, version: 1 | 2, limits: RerankLimits): RerankRequest {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new RerankRequestError('invalid request: the body must be a JSON object');
  const b = value as Record<string, unknown>;
  if (b.model !== undefined && b.model !== null && typeof b.model !== 'string') throw new RerankRequestError('invalid request: model must be a string');
  if (version === 2 && (typeof b.model !== 'string' || b.model === '')) throw new RerankRequestError('invalid request: model is required');
  if (typeof b.query !== 'string') throw new RerankRequestError('invalid request: query must be a string');
  if (b.query.length === 0) throw new RerankRequestError('invalid request: query must not be empty');
  if (!Array.isArray(b.documents)) throw new RerankRequestError('invalid request: documents must be a list');
  if (b.documents.length === 0) throw new RerankRequestError('invalid request: documents must not be empty');
  if (b.documents.length > limits.maxDocuments) {
    throw new RerankRequestError(`invalid request: too many documents: ${b.documents.length} > ${limits.maxDocuments} (scorecar --max-items)`);
  }
  const documents = b.documents.map((d, i): string => {
    if (typeof d === 'string') return d;
    if (version === 1 && typeof d === 'object' && d !== null && !Array.isArray(d) && typeof (d as { text?: unknown }).text === 'string') {
      return (d as { text: string }).text;
    }
    throw new RerankRequestError(
      version === 1 ? `invalid request: documents[${i}] must be a string or an object with a text field` : `invalid request: documents[${i}] must be a string`,
    );
  });
  const topN = posInt(b.top_n, 'top_n');
  let returnDocuments = false;
  if (b.return_documents !== undefined && b.return_documents !== null) {
    if (typeof b.return_documents !== 'boolean') throw new RerankRequestError('invalid request: return_documents must be a boolean');
    returnDocuments = b.return_documents;
  }
  const maxTokensPerDoc = posInt(b.max_tokens_per_doc, 'max_tokens_per_doc');
  // Cohere v1 chunks long documents (up to 10 windows by default); v2 truncates them.
  const maxChunksPerDoc = version === 1 ? (posInt(b.max_chunks_per_doc, 'max_chunks_per_doc') ?? 10) : 1;
  let template = limits.defaultTemplate;
  if (b.template !== undefined && b.template !== null) {
    const t = typeof b.template === 'string' ? templateByName(b.template) : undefined;
    if (!t) throw new RerankRequestError(`invalid request: unknown template ${JSON.stringify(b.template)}; one of ${TEMPLATE_NAMES.join(', ')}`);
    template = t;
  }
  if (b.instruction !== undefined && b.instruction !== null) {
    if (typeof b.instruction !== 'string') throw new RerankRequestError('invalid request: instruction must be a string');
    if (template.instruction === null) throw new RerankRequestError(`invalid request: template ${template.name} takes no instruction`);
    template = withInstruction(template, b.instruction);
  }
  return {
    version,
    model: typeof b.model === 'string' ? b.model : null,
    query: b.query,
    documents,
    topN,
    returnDocuments,
    maxTokensPerDoc,
    maxChunksPerDoc,
    template,
  };
}
