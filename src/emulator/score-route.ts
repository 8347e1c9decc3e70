import type { IncomingMessage, ServerResponse } from 'node:http';
import { CONTENT_TYPE_MESSAGE, fastapiParsesJson, isSglangJsonContentType } from '../sglang/content-type.js';
import { TYPE_BAD_REQUEST, TYPE_VALIDATION, errorEnvelopeJson } from '../sglang/errors.js';
import type { PyValue } from '../sglang/orjson-parse.js';
import { pyRepr } from '../sglang/py-repr.js';
import {
  type Int,
  MSG_INVALID_COMBINATION,
  MSG_ITEMS_REQUIRED,
  MSG_LABELS_DUPLICATE,
  MSG_LABELS_ITEM_NONEMPTY,
  MSG_LABELS_NONEMPTY,
  MSG_LABELS_NONNEGATIVE,
  MSG_LABELS_PER_ITEM,
  MSG_LABELS_REQUIRED,
  MSG_POOLED_CAUSAL_LM,
  MSG_TEMPERATURE_SOFTMAX,
  type ScoreFields,
  oovMessage,
  parseScoreJson,
  tooLongMessage,
  validateScoreBody,
} from '../sglang/score-schema.js';
import { DEFAULT_SCORE_ENDPOINT_CONTEXT, validationMessage, MISSING_BODY_ERROR } from '../sglang/validation-error.js';
import type { EmulatorContext } from './context.js';
import { causalPairs, exactPrefixPacks, packPairs } from './cost-model.js';
import type { PrefillTicket } from './scheduler.js';
import { hashIds, scoreRow, tokenLogprob } from './model.js';
import { applyFault } from './fault-response.js';
import { send } from './http.js';

/**
 * SGLang aborts a request whose client disconnected (the tokenizer manager notices while it
 * waits): its sequences that have not been prefilled yet never reach the GPU.
 */
export function abortOnClose(res: ServerResponse): (t: PrefillTicket) => void {
  return (ticket) => {
    res.once('close', () => {
      if (!res.writableFinished) ticket.abort();
    });
  };
}

/** Outcome of a parse/validate step that the route turns into a response. */
type Reply = { status: number; body: string };

function badRequest(message: string, type: string): Reply {
  return { status: 400, body: errorEnvelopeJson(message, type, 400) };
}

/**
 * FastAPI 0.165's order for a JSON body route with SGLang's content-type dependency: parse a
 * non-empty body under a JSON-ish type (errors at once), then the dependency, then the body
 * model (an empty body is missing). `undefined` value: nothing was parsed.
 */
export function parseJsonRequest(req: IncomingMessage, body: Buffer): { value: PyValue | undefined } | Reply {
  const ct = req.headers['content-type'];
  let value: PyValue | undefined;
  if (fastapiParsesJson(ct) && body.length > 0) {
    const r = parseScoreJson(body, DEFAULT_SCORE_ENDPOINT_CONTEXT);
    if (!r.ok) return badRequest(r.message, TYPE_VALIDATION);
    value = r.value;
  }
  if (!isSglangJsonContentType(ct)) return badRequest(CONTENT_TYPE_MESSAGE, TYPE_VALIDATION);
  return { value };
}

interface Prompts {
  /** Ids of every sequence the model runs and, for MIS, the parts of the one pack. */
  query: Int32Array;
  items: Int32Array[];
  promptTokens: number;
}

function toIds(a: Int[]): Int32Array {
  return Int32Array.from(a, Number);
}

/** score_request's checks (tokenizer_manager_score_mixin.py:944-1180), in its order. */
function scoreChecks(f: ScoreFields, vocabSize: number): string | 'empty' | 'text' | 'ids' {
  if (f.temperature !== 1 && !f.applySoftmax) return MSG_TEMPERATURE_SOFTMAX;
  if (f.labels === null) return MSG_LABELS_REQUIRED;
  const items = f.items;
  if (items === null) return MSG_ITEMS_REQUIRED;
  if (items.length === 0) return 'empty';
  const n = typeof items === 'string' ? 1 : items.length;
  if (f.labels.length === 0) return MSG_LABELS_NONEMPTY;
  const perItem = Array.isArray(f.labels[0]);
  if (perItem && f.labels.length !== n) return MSG_LABELS_PER_ITEM;
  const sets = (perItem ? f.labels : [f.labels]) as Int[][];
  for (const labels of sets) {
    if (!Array.isArray(labels) || labels.length === 0) return MSG_LABELS_ITEM_NONEMPTY;
    if (labels.some((t) => t < 0)) return MSG_LABELS_NONNEGATIVE;
    if (new Set(labels.map(String)).size !== labels.length) return MSG_LABELS_DUPLICATE;
    for (const t of labels) if (t >= vocabSize) return oovMessage(t, vocabSize);
  }
  const idsItems = Array.isArray(items) && Array.isArray(items[0]);
  const query = f.query ?? (idsItems ? [] : '');
  const hasEmbeds = f.hasQueryEmbedOverrides || f.itemEmbedOverrides !== null;
  if (hasEmbeds && f.embedOverrideTokenId === null) {
    return 'embed_override_token_id is required when query_embed_overrides, item_embed_overrides, or stacked_query_item_embed_overrides are supplied.';
  }
  if (f.itemFirst && hasEmbeds) return 'item_first is not supported when embeddings are supplied';
  if (f.itemEmbedOverrides !== null && f.itemEmbedOverrides !== n) {
    return `item_embed_overrides length (${f.itemEmbedOverrides}) must match items length (${n}).`;
  }
  // The emulator runs with the radix cache on, as SGLang does by default (:761-762).
  if (f.scoreExtractionToken !== null) {
    return 'score_extraction_token_id requires --disable-radix-cache because pooling positions are relative to the full prompt.';
  }
  let kind: 'text' | 'ids';
  if (typeof query === 'string' && !hasEmbeds) kind = 'text';
  else if (Array.isArray(query) && idsItems) kind = 'ids';
  else if (hasEmbeds) kind = 'text';
  else return MSG_INVALID_COMBINATION;
  if (f.returnPooledHiddenStates) return MSG_POOLED_CAUSAL_LM;
  return kind;
}

/** An item as the prompt text SGLang builds (f"{query}{item}"): an id list prints as Python's str(). */
function itemText(item: string | Int[]): string {
  return typeof item === 'string' ? item : pyRepr(item as PyValue);
}

async function buildPrompts(ctx: EmulatorContext, f: ScoreFields, kind: 'text' | 'ids'): Promise<Prompts> {
  const items = typeof f.items === 'string' ? [f.items] : (f.items as string[] | Int[][]);
  const mis = ctx.options.mis.kind !== 'off';
  if (kind === 'ids') {
    return { query: toIds((f.query ?? []) as Int[]), items: (items as Int[][]).map(toIds), promptTokens: 0 };
  }
  const query = (f.query ?? '') as string;
  const texts = (items as (string | Int[])[]).map(itemText);
  if (mis) {
    // MIS tokenizes the query and each item on its own and joins them at the id level.
    const ids = await ctx.tokenizer.tokenize([query, ...texts]);
    return { query: ids[0] as Int32Array, items: ids.slice(1), promptTokens: 0 };
  }
  // Single-item mode tokenizes each whole prompt string, query and item together.
  const ids = await ctx.tokenizer.tokenizeJoined(query, texts, f.itemFirst);
  return { query: new Int32Array(0), items: ids, promptTokens: 0 };
}

function scoresJson(rows: number[][], model: string, promptTokens: number, tokenLogprobs: number[][] | null): string {
  // Field order of SGLang 0.5.23's ScoringResponse and UsageInfo (protocol.py:1518-1537).
  return (
    `{"scores":${JSON.stringify(rows)},"pooled_hidden_states":null,"token_logprobs":${JSON.stringify(tokenLogprobs)},` +
    `"model":${JSON.stringify(model)},"usage":{"prompt_tokens":${promptTokens},"total_tokens":${promptTokens},` +
    `"completion_tokens":0,"prompt_tokens_details":null,"reasoning_tokens":0,"completion_tokens_details":null},"object":"scoring"}`
  );
}

export async function handleScore(ctx: EmulatorContext, req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> {
  ctx.scoresInFlight++;
  try {
    await score(ctx, req, res, body);
  } finally {
    ctx.scoresInFlight--;
  }
}

async function score(ctx: EmulatorContext, req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> {
  const started = performance.now();
  const reply = (r: Reply): void => {
    ctx.record('POST', '/v1/score', r.status, send(res, r.status, r.body));
  };
  const parsed = parseJsonRequest(req, body);
  if ('status' in parsed) return reply(parsed);
  if (parsed.value === undefined) {
    return reply(badRequest(validationMessage([MISSING_BODY_ERROR], DEFAULT_SCORE_ENDPOINT_CONTEXT), TYPE_VALIDATION));
  }
  const schema = validateScoreBody(parsed.value, DEFAULT_SCORE_ENDPOINT_CONTEXT);
  if (!schema.ok) return reply(badRequest(schema.message, TYPE_VALIDATION));
  const f = schema.value;

  const sem = scoreChecks(f, ctx.options.vocabSize);
  if (sem === 'empty') return reply({ status: 200, body: scoresJson([], f.model, 0, f.returnTokenLogprobs ? [] : null) });
  if (sem !== 'text' && sem !== 'ids') return reply(badRequest(sem, TYPE_BAD_REQUEST));
  const perItem = Array.isArray((f.labels as unknown[])[0]);
  const labelsOf = (i: number): number[] => ((perItem ? (f.labels as Int[][])[i] : f.labels) as Int[]).map(Number);

  if (await applyFault(ctx, res, '/v1/score')) return;
  const p = await buildPrompts(ctx, f, sem);
  const mis = ctx.options.mis.kind !== 'off';
  const contextLen = ctx.options.contextLength;
  const rows: number[][] = [];
  const tokenLogprobs: number[][] | null = f.returnTokenLogprobs ? [] : null;
  const readOut = (promptHash: number, i: number): void => {
    const labels = labelsOf(i);
    const row: number[] = [];
    scoreRow(promptHash, labels, f.applySoftmax, row, f.temperature);
    rows.push(row);
    tokenLogprobs?.push(labels.map((t) => tokenLogprob(promptHash, t)));
  };

  if (mis) {
    let packed = p.query.length + p.items.length + 1; // n + 1 delimiters
    const itemLens = p.items.map((a) => a.length);
    for (const len of itemLens) packed += len;
    const tooLong = tooLongMessage(packed, contextLen, ctx.maxReqInputLen);
    if (tooLong) return reply(badRequest(tooLong, TYPE_BAD_REQUEST));
    await ctx.chargeFrontEnd(1, packed);
    await ctx.scheduler.run([packed], [packPairs(p.query.length, itemLens)], abortOnClose(res));
    if (res.destroyed) return;
    const qh = hashIds(ctx.hashInit, p.query);
    p.items.forEach((item, i) => readOut(hashIds(qh, item), i));
    p.promptTokens = packed;
  } else {
    const lens: number[] = [];
    const pairs: number[] = [];
    const prompts: Array<[Int32Array, Int32Array]> = p.items.map((item) =>
      sem === 'ids' && f.itemFirst ? [item, p.query] : [p.query, item],
    );
    for (const [a, b] of prompts) {
      const len = a.length + b.length;
      const tooLong = tooLongMessage(len, contextLen, ctx.maxReqInputLen);
      if (tooLong) return reply(badRequest(tooLong, TYPE_BAD_REQUEST));
      lens.push(len);
      pairs.push(causalPairs(len));
      p.promptTokens += len;
    }
    // patches/' fast path: a token-id request with apply_softmax and the query first runs as
    // exact-prefix packs (query once, no delimiters); scores and usage stay single-item's.
    if (ctx.options.patched && sem === 'ids' && f.applySoftmax && !f.itemFirst && f.temperature === 1 && !perItem) {
      const packs = exactPrefixPacks(p.query.length, p.items.map((a) => a.length), ctx.maxReqInputLen);
      lens.length = 0;
      pairs.length = 0;
      let packedTokens = 0;
      for (const pk of packs) {
        lens.push(pk.tokens);
        pairs.push(pk.pairs);
        packedTokens += pk.tokens;
      }
      await ctx.chargeFrontEnd(packs.length, packedTokens);
    } else {
      await ctx.chargeFrontEnd(lens.length, p.promptTokens);
    }
    await ctx.scheduler.run(lens, pairs, abortOnClose(res));
    if (res.destroyed) return;
    prompts.forEach(([a, b], i) => readOut(hashIds(hashIds(ctx.hashInit, a), b), i));
  }
  ctx.metrics.finished(p.promptTokens, 0, (performance.now() - started) / 1000);
  reply({ status: 200, body: scoresJson(rows, f.model, p.promptTokens, tokenLogprobs) });
}
