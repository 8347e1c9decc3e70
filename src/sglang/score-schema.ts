/**
 * SGLang 0.5.23's /v1/score request: FastAPI's body handling, the ScoringRequest model
 * (srt/entrypoints/openai/protocol.py:1482-1515, pydantic 2.14) and the checks score_request
 * runs before any model work (srt/managers/tokenizer_manager_score_mixin.py:892-1180), in that
 * order. The emulator validates with this, and so does scorecar's slow path for bodies its byte
 * scanner does not take. Held to recordings of the real server
 * (test/fixtures/sglang-0.5.23/exchanges.json, test/sglang/fixtures.test.ts).
 */
import { type PyDict, type PyValue, orjsonParse } from './orjson-parse.js';
import { BAD, type Errors, type Loc, type Out, bool, err, finiteFloat, int, list, str, union } from './pydantic.js';
import { MISSING_BODY_ERROR, jsonInvalidError, validationMessage } from './validation-error.js';

export type Int = number | bigint;

export interface ScoreFields {
  query: string | Int[] | null;
  items: string | string[] | Int[][] | null;
  /** Shared labels, or one list per item (`list[list[int]]`). */
  labels: Int[] | Int[][] | null;
  applySoftmax: boolean;
  itemFirst: boolean;
  model: string;
  temperature: number;
  returnTokenLogprobs: boolean;
  returnPooledHiddenStates: boolean;
  embedOverrideTokenId: Int | null;
  hasQueryEmbedOverrides: boolean;
  /** Item override lists, for score_request's length check (null: absent). */
  itemEmbedOverrides: number | null;
  scoreExtractionToken: string | null;
}

export type SchemaResult = { ok: true; value: ScoreFields } | { ok: false; message: string };

/** protocol.py:1515, `model: str = DEFAULT_MODEL_NAME`. */
export const DEFAULT_MODEL_NAME = 'default';

const intStrict = (v: PyValue, loc: Loc, e: Errors, strict: boolean): Out<Int> => int(v, loc, e, strict);
const intList = (v: PyValue, loc: Loc, e: Errors, strict: boolean): Out<Int[]> => list(v, loc, e, (x, l, ee) => intStrict(x, l, ee, strict));
const intLists = (v: PyValue, loc: Loc, e: Errors, strict: boolean): Out<Int[][]> => list(v, loc, e, (x, l, ee) => intList(x, l, ee, strict));
const strVal = (v: PyValue, loc: Loc, e: Errors): Out<string> => str(v, loc, e);
const strList = (v: PyValue, loc: Loc, e: Errors): Out<string[]> => list(v, loc, e, strVal);
const floatMatrix = (v: PyValue, loc: Loc, e: Errors): Out<number[][]> =>
  list(v, loc, e, (row, l, ee) => list(row, l, ee, (x, ll, eee) => finiteFloat(x, ll, eee)));

/** ScoringRequest's fields, in declaration order (pydantic reports errors in that order). */
export function validateScoreBody(value: PyValue, endpointContext: string): SchemaResult {
  if (!(value instanceof Map)) {
    return {
      ok: false,
      message: validationMessage(
        [{ type: 'model_attributes_type', loc: ['body'], msg: 'Input should be a valid dictionary or object to extract fields from', input: value }],
        endpointContext,
      ),
    };
  }
  const body: PyDict = value;
  const e: Errors = [];
  const opt = <T>(key: string, f: (v: PyValue, loc: Loc) => Out<T>): Out<T | null> => {
    const v = body.get(key);
    return v === undefined || v === null ? null : f(v, ['body', key]);
  };
  const req = <T>(key: string, dflt: T, f: (v: PyValue, loc: Loc) => Out<T>): Out<T> => {
    const v = body.get(key);
    return v === undefined ? dflt : f(v, ['body', key]);
  };

  const query = opt('query', (v, loc) =>
    union<string | Int[]>(v, loc, e, [
      ['str', (x, l, ee) => strVal(x, l, ee)],
      ['list[int]', intList],
    ]),
  );
  const items = opt('items', (v, loc) =>
    union<string | string[] | Int[][]>(v, loc, e, [
      ['str', (x, l, ee) => strVal(x, l, ee)],
      ['list[str]', (x, l, ee) => strList(x, l, ee)],
      ['list[list[int]]', intLists],
    ]),
  );
  const embedOverrideTokenId = opt('embed_override_token_id', (v, loc) => int(v, loc, e, false));
  const queryEmbeds = opt('query_embed_overrides', (v, loc) => floatMatrix(v, loc, e));
  const itemEmbeds = opt('item_embed_overrides', (v, loc) =>
    list(v, loc, e, (x, l, ee) => (x === null ? null : floatMatrix(x, l, ee))),
  );
  const labels = opt('label_token_ids', (v, loc) =>
    union<Int[] | Int[][]>(v, loc, e, [
      ['list[int]', intList],
      ['list[list[int]]', intLists],
    ]),
  );
  const applySoftmax = req('apply_softmax', false, (v, loc) => bool(v, loc, e));
  const temperature = req('temperature', 1, (v, loc) => {
    const f = finiteFloat(v, loc, e);
    if (f === BAD) return BAD;
    return f > 0 ? f : err(e, 'greater_than', loc, 'Input should be greater than 0', v, "{'gt': 0.0}");
  });
  const returnTokenLogprobs = req('return_token_logprobs', false, (v, loc) => bool(v, loc, e));
  const itemFirst = req('item_first', false, (v, loc) => bool(v, loc, e));
  const returnPooled = req('return_pooled_hidden_states', false, (v, loc) => bool(v, loc, e));
  const extraction = opt('score_extraction_token', (v, loc) => str(v, loc, e));
  const model = req('model', DEFAULT_MODEL_NAME, (v, loc) => str(v, loc, e));

  if (e.length > 0) return { ok: false, message: validationMessage(e, endpointContext) };
  return {
    ok: true,
    value: {
      query: query as string | Int[] | null,
      items: items as string | string[] | Int[][] | null,
      labels: labels as Int[] | Int[][] | null,
      applySoftmax: applySoftmax as boolean,
      itemFirst: itemFirst as boolean,
      model: model as string,
      temperature: temperature as number,
      returnTokenLogprobs: returnTokenLogprobs as boolean,
      returnPooledHiddenStates: returnPooled as boolean,
      embedOverrideTokenId: embedOverrideTokenId as Int | null,
      hasQueryEmbedOverrides: queryEmbeds !== null,
      itemEmbedOverrides: itemEmbeds === null ? null : (itemEmbeds as unknown[]).length,
      scoreExtractionToken: extraction as string | null,
    },
  };
}

/**
 * FastAPI's body step for a JSON-ish content type (fastapi/routing.py:466-501): an empty body
 * is not parsed (the body is then missing), anything else goes through orjson. Returns the
 * parsed value or the whole 400 message.
 */
export function parseScoreJson(
  raw: Uint8Array,
  endpointContext: string,
  maxValues = Infinity,
): { ok: true; value: PyValue } | { ok: false; message: string } {
  if (raw.length === 0) return { ok: false, message: validationMessage([MISSING_BODY_ERROR], endpointContext) };
  const r = orjsonParse(raw, maxValues);
  if (!r.ok) return { ok: false, message: validationMessage([jsonInvalidError(r.pos, r.msg)], endpointContext) };
  return r;
}

/** The JSON error message scorecar's own routes (/rank) give, in the same FastAPI form. */
export function jsonInvalidMessage(raw: Uint8Array): string {
  const r = parseScoreJson(raw, '');
  return r.ok ? '' : r.message;
}

export function validateScoreRequest(raw: Uint8Array, endpointContext: string, maxValues = Infinity): SchemaResult {
  const p = parseScoreJson(raw, endpointContext, maxValues);
  return p.ok ? validateScoreBody(p.value, endpointContext) : p;
}

// score_request's messages (tokenizer_manager_score_mixin.py), in the order it raises them.
export const MSG_TEMPERATURE = 'temperature must be finite and greater than zero'; // :945
export const MSG_TEMPERATURE_SOFTMAX = 'temperature requires apply_softmax=True'; // :947
export const MSG_LABELS_REQUIRED = 'label_token_ids is required for generation (CausalLM) models.'; // :954
export const MSG_ITEMS_REQUIRED = 'items must be provided'; // :958
export const MSG_LABELS_NONEMPTY = 'label_token_ids must be a nonempty list'; // :968
export const MSG_LABELS_PER_ITEM = 'label_token_ids must have one list per item'; // :971
export const MSG_LABELS_ITEM_NONEMPTY = 'each item must have a nonempty candidate list'; // :976
export const MSG_LABELS_NONNEGATIVE = 'label_token_ids must contain nonnegative integers'; // :978
export const MSG_LABELS_DUPLICATE = 'label_token_ids must not contain duplicate tokens'; // :982
export const MSG_INVALID_COMBINATION = 'Invalid combination of query/items types for score_request.'; // :1143
export const MSG_POOLED_CAUSAL_LM =
  'return_pooled_hidden_states is not supported for CausalLM models. It requires a model with a task-specific head (e.g. SequenceClassification or RewardModel).'; // :1163

/** :990, against the tokenizer's vocab_size (151,643 for Qwen3: added tokens excluded). */
export function oovMessage(tokenId: Int, vocabSize: number): string {
  return `Token ID ${tokenId} is out of vocabulary (vocab size: ${vocabSize})`;
}

/** What score_request decides before any model work. */
export type ScoreSemantics =
  | { kind: 'error'; message: string }
  | { kind: 'empty' }
  | { kind: 'text' }
  | { kind: 'ids' };

const EMPTY: ScoreSemantics = { kind: 'empty' };
const TEXT: ScoreSemantics = { kind: 'text' };
const IDS: ScoreSemantics = { kind: 'ids' };

/**
 * score_request's checks for the shape scorecar scores itself (shared labels, temperature 1,
 * no embeddings, no extraction token, no pooled states or token logprobs), in SGLang's order.
 * Inputs are the facts both validators know without materialising the request.
 * `queryKind` 'none' is an omitted query, which SGLang turns into "" or [] by the items' kind.
 */
export function scoreSemantics(
  hasLabels: boolean,
  labels: ArrayLike<number | bigint>,
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
  if (nLabels === 0) return { kind: 'error', message: MSG_LABELS_NONEMPTY };
  for (let i = 0; i < nLabels; i++) if ((labels[i] as number) < 0) return { kind: 'error', message: MSG_LABELS_NONNEGATIVE };
  if (hasDuplicate(labels, nLabels)) return { kind: 'error', message: MSG_LABELS_DUPLICATE };
  for (let i = 0; i < nLabels; i++) {
    const id = labels[i] as number | bigint;
    if (id >= vocabSize) return { kind: 'error', message: oovMessage(id, vocabSize) };
  }
  const q = queryKind === 'none' ? (itemsKind === 'ids' ? 'ids' : 'text') : queryKind;
  if (q === 'text' && itemsKind === 'text') return TEXT;
  if (q === 'ids' && itemsKind === 'ids') return IDS;
  return { kind: 'error', message: MSG_INVALID_COMBINATION };
}

/**
 * Whether a validated request uses a part of SGLang's scoring that scorecar does not compute
 * itself: such requests go to the backend unchanged (its answer, or its error, is relayed), so
 * their semantics are SGLang's by construction. A text query with token-id items is one of
 * them: SGLang formats each id list into the prompt text with Python's str().
 */
export function needsBackendAsIs(f: ScoreFields): boolean {
  return (
    f.temperature !== 1 ||
    f.returnTokenLogprobs ||
    f.returnPooledHiddenStates ||
    f.embedOverrideTokenId !== null ||
    f.hasQueryEmbedOverrides ||
    f.itemEmbedOverrides !== null ||
    f.scoreExtractionToken !== null ||
    (Array.isArray(f.labels) && f.labels.length > 0 && Array.isArray(f.labels[0])) ||
    (typeof f.query === 'string' && Array.isArray(f.items) && f.items.length > 0 && Array.isArray(f.items[0]))
  );
}

/**
 * Messages for inputs that exceed the model's limits: the tokenizer manager's context check
 * (srt/managers/tokenizer_manager.py:1338-1351), then the scheduler's max_req_input_len check
 * (srt/managers/utils.py:279-286).
 */
export function tooLongMessage(tokens: number, contextLen: number, maxReqInputLen: number): string | null {
  if (tokens >= contextLen) {
    return `The input (${tokens} tokens) is longer than the model's context length (${contextLen} tokens).`;
  }
  if (tokens >= maxReqInputLen) {
    return `Input length (${tokens} tokens) exceeds the maximum allowed length (${maxReqInputLen} tokens). Use a shorter input or enable --allow-auto-truncate.`;
  }
  return null;
}

/** Labels compared pairwise up to this many (the usual two: no Set per request), with a Set beyond. */
const PAIRWISE_LABELS = 16;

/**
 * Whether a label repeats. Values are exact per type (bigint only above 2^53), so === and the
 * Set compare them exactly; a Set past a few labels, since a client may send millions.
 */
function hasDuplicate(labels: ArrayLike<number | bigint>, n: number): boolean {
  if (n <= PAIRWISE_LABELS) {
    for (let i = 1; i < n; i++) {
      const v = labels[i] as number | bigint;
      for (let j = 0; j < i; j++) if (labels[j] === v) return true;
    }
    return false;
  }
  const seen = new Set<number | bigint>();
  for (let i = 0; i < n; i++) {
    const v = labels[i] as number | bigint;
    if (seen.has(v)) return true;
    seen.add(v);
  }
  return false;
}
