/**
 * SGLang's /v1/score request model (ScoringRequest, a pydantic v2 BaseModel) and the checks its
 * score_request runs, reproduced from the parsed JSON value. The emulator validates with this,
 * and so does scorecar's slow path for bodies its byte scanner does not take (lax coercions
 * such as "1" for an id or 1 for a bool, duplicate keys).
 *
 * Pydantic's lax mode is followed where it matters: ints accept integral floats, numeric
 * strings and bools; bools accept 0/1 and the usual strings; strings accept only strings.
 * Unknown fields are ignored, like pydantic's default extra="ignore".
 */

export interface ScoreFields {
  query: string | number[] | null;
  items: string | string[] | number[][] | null;
  labels: number[] | null;
  applySoftmax: boolean;
  itemFirst: boolean;
  model: string;
}

export type SchemaResult = { ok: true; value: ScoreFields } | { ok: false; message: string };

export const DEFAULT_MODEL_NAME = 'default';

interface PydanticError {
  type: string;
  loc: (string | number)[];
  msg: string;
  input: unknown;
}

const TRUE_STRINGS = new Set(['1', 'on', 't', 'true', 'y', 'yes']);
const FALSE_STRINGS = new Set(['0', 'off', 'f', 'false', 'n', 'no']);
const INT_STRING = /^\s*[+-]?\d+\s*$/;

function laxInt(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isInteger(v) ? v : undefined;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'string' && INT_STRING.test(v)) {
    const n = Number(v.trim());
    return Number.isSafeInteger(n) ? n : undefined;
  }
  return undefined;
}

function laxBool(v: unknown): boolean | undefined {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v === 1 ? true : v === 0 ? false : undefined;
  if (typeof v === 'string') {
    const s = v.toLowerCase();
    if (TRUE_STRINGS.has(s)) return true;
    if (FALSE_STRINGS.has(s)) return false;
  }
  return undefined;
}

function intList(v: unknown, loc: (string | number)[], errors: PydanticError[]): number[] | undefined {
  if (!Array.isArray(v)) {
    errors.push({ type: 'list_type', loc, msg: 'Input should be a valid list', input: v });
    return undefined;
  }
  const out = new Array<number>(v.length);
  let ok = true;
  for (let i = 0; i < v.length; i++) {
    const n = laxInt(v[i]);
    if (n === undefined) {
      ok = false;
      errors.push({
        type: 'int_parsing',
        loc: [...loc, i],
        msg: 'Input should be a valid integer',
        input: v[i],
      });
    } else {
      out[i] = n;
    }
  }
  return ok ? out : undefined;
}

function stringList(v: unknown, loc: (string | number)[], errors: PydanticError[]): string[] | undefined {
  if (!Array.isArray(v)) {
    errors.push({ type: 'list_type', loc, msg: 'Input should be a valid list', input: v });
    return undefined;
  }
  let ok = true;
  for (let i = 0; i < v.length; i++) {
    if (typeof v[i] !== 'string') {
      ok = false;
      errors.push({ type: 'string_type', loc: [...loc, i], msg: 'Input should be a valid string', input: v[i] });
    }
  }
  return ok ? (v as string[]) : undefined;
}

function parseQuery(v: unknown, errors: PydanticError[]): string | number[] | null | undefined {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return v;
  const local: PydanticError[] = [];
  if (!Array.isArray(v)) {
    local.push({ type: 'string_type', loc: ['body', 'query', 'str'], msg: 'Input should be a valid string', input: v });
  }
  const ids = intList(v, ['body', 'query', 'list[int]'], local);
  if (ids) return ids;
  errors.push(...local);
  return undefined;
}

function parseItems(v: unknown, errors: PydanticError[]): string | string[] | number[][] | null | undefined {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return v;
  const local: PydanticError[] = [];
  if (!Array.isArray(v)) {
    local.push({ type: 'string_type', loc: ['body', 'items', 'str'], msg: 'Input should be a valid string', input: v });
  }
  // Smart-mode union: a list of strings validates strictly as list[str] and wins.
  const strs = stringList(v, ['body', 'items', 'list[str]'], local);
  if (strs) return strs;
  if (Array.isArray(v)) {
    const rows: number[][] = [];
    let ok = true;
    for (let i = 0; i < v.length; i++) {
      const row = intList(v[i], ['body', 'items', 'list[list[int]]', i], local);
      if (row) rows.push(row);
      else ok = false;
    }
    if (ok) return rows;
  }
  errors.push(...local);
  return undefined;
}

/**
 * Python-ish repr, close enough to read like SGLang's pydantic error lists. Lists nested deeper
 * than a few levels print as [...]: the input is the client's, and its depth must not become
 * this function's recursion depth.
 */
function pyRepr(v: unknown, depth = 0): string {
  if (v === null || v === undefined) return 'None';
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (typeof v === 'string') return `'${v.length > 60 ? v.slice(0, 60) + '...' : v}'`;
  if (typeof v === 'number') return String(v);
  if (Array.isArray(v)) {
    if (depth >= 4) return '[...]';
    let head = '';
    for (let i = 0; i < v.length && i < 8; i++) head += (i > 0 ? ', ' : '') + pyRepr(v[i], depth + 1);
    return `[${head}${v.length > 8 ? ', ...' : ''}]`;
  }
  return '{...}';
}

export function formatPydanticErrors(errors: PydanticError[]): string {
  const parts = errors.map((e) => {
    const loc = `(${e.loc.map((x) => (typeof x === 'number' ? String(x) : `'${x}'`)).join(', ')})`;
    return `{'type': '${e.type}', 'loc': ${loc}, 'msg': '${e.msg}', 'input': ${pyRepr(e.input)}}`;
  });
  return `[${parts.join(', ')}]`;
}

/** The message FastAPI gives a body that is not JSON at all. */
export function jsonInvalidMessage(position: number): string {
  return formatPydanticErrors([{ type: 'json_invalid', loc: ['body', position], msg: 'JSON decode error', input: {} }]);
}

export function validateScoreBody(value: unknown): SchemaResult {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return {
      ok: false,
      message: formatPydanticErrors([
        {
          type: 'model_attributes_type',
          loc: ['body'],
          msg: 'Input should be a valid dictionary or object to extract fields from',
          input: value,
        },
      ]),
    };
  }
  const body = value as Record<string, unknown>;
  const errors: PydanticError[] = [];
  const query = parseQuery(body.query, errors);
  const items = parseItems(body.items, errors);
  let labels: number[] | null = null;
  if (body.label_token_ids !== undefined && body.label_token_ids !== null) {
    labels = intList(body.label_token_ids, ['body', 'label_token_ids'], errors) ?? null;
  }
  const bool = (key: 'apply_softmax' | 'item_first'): boolean => {
    if (!(key in body)) return false;
    const b = laxBool(body[key]);
    if (b === undefined) {
      errors.push({ type: 'bool_parsing', loc: ['body', key], msg: 'Input should be a valid boolean', input: body[key] });
      return false;
    }
    return b;
  };
  const applySoftmax = bool('apply_softmax');
  const itemFirst = bool('item_first');
  let model = DEFAULT_MODEL_NAME;
  if ('model' in body) {
    if (typeof body.model === 'string') model = body.model;
    else errors.push({ type: 'string_type', loc: ['body', 'model'], msg: 'Input should be a valid string', input: body.model });
  }
  if (errors.length > 0 || query === undefined || items === undefined) {
    return { ok: false, message: formatPydanticErrors(errors) };
  }
  return { ok: true, value: { query, items, labels, applySoftmax, itemFirst, model } };
}

export const MSG_LABELS_REQUIRED = 'label_token_ids is required for generation (CausalLM) models.';
export const MSG_ITEMS_REQUIRED = 'items must be provided';
export const MSG_INVALID_COMBINATION = 'Invalid combination of query/items types for score_request.';

export function oovMessage(tokenId: number, vocabSize: number): string {
  return `Token ID ${tokenId} is out of vocabulary (vocab size: ${vocabSize})`;
}

/** What score_request decides before any model work. */
export type ScoreSemantics =
  | { kind: 'error'; message: string }
  | { kind: 'empty' }
  | { kind: 'text' }
  | { kind: 'ids' };

/**
 * score_request's checks, in SGLang's order. Inputs are the facts both validators can know
 * without materialising the request: whether fields are present, the item count, the labels.
 */
const EMPTY: ScoreSemantics = { kind: 'empty' };
const TEXT: ScoreSemantics = { kind: 'text' };
const IDS: ScoreSemantics = { kind: 'ids' };

export function scoreSemantics(
  hasLabels: boolean,
  labels: ArrayLike<number>,
  nLabels: number,
  itemsPresent: boolean,
  itemCount: number,
  queryKind: 'text' | 'ids' | 'none',
  itemsKind: 'text' | 'ids' | 'empty',
  vocabSize: number,
): ScoreSemantics {
  if (!hasLabels) return { kind: 'error', message: MSG_LABELS_REQUIRED };
  if (!itemsPresent) return { kind: 'error', message: MSG_ITEMS_REQUIRED };
  if (itemCount === 0) return EMPTY;
  for (let i = 0; i < nLabels; i++) {
    const id = labels[i] as number;
    if (id >= vocabSize) return { kind: 'error', message: oovMessage(id, vocabSize) };
  }
  if (queryKind === 'text' && itemsKind === 'text') return TEXT;
  if (queryKind === 'ids' && itemsKind === 'ids') return IDS;
  return { kind: 'error', message: MSG_INVALID_COMBINATION };
}

/** Messages for inputs that exceed the model's limits (tokenizer side, then scheduler side). */
export function tooLongMessage(tokens: number, contextLen: number, maxReqInputLen: number): string | null {
  if (tokens >= contextLen) {
    return `The input (${tokens} tokens) is longer than the model's context length (${contextLen} tokens).`;
  }
  if (tokens >= maxReqInputLen) {
    return `Input length (${tokens} tokens) exceeds the maximum allowed length (${maxReqInputLen} tokens). Use a shorter input or enable --allow-auto-truncate.`;
  }
  return null;
}
