import type { IncomingMessage, ServerResponse } from 'node:http';
import { CONTENT_TYPE_MESSAGE, fastapiParsesJson, isSglangJsonContentType } from '../sglang/content-type.js';
import { TYPE_BAD_REQUEST, TYPE_VALIDATION, errorEnvelopeJson } from '../sglang/errors.js';
import {
  type ScoreFields,
  jsonInvalidMessage,
  scoreSemantics,
  tooLongMessage,
  validateScoreBody,
} from '../sglang/score-schema.js';
import type { EmulatorContext } from './context.js';
import { causalPairs, exactPrefixPacks, packPairs } from './cost-model.js';
import type { PrefillTicket } from './scheduler.js';
import { HASH_INIT, hashIds, scoreRow } from './model.js';
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

/** FastAPI's body parsing and SGLang's content-type dependency, in FastAPI's order. */
export function parseJsonRequest(req: IncomingMessage, body: Buffer): { value: unknown } | Reply {
  const ct = req.headers['content-type'];
  let value: unknown;
  if (fastapiParsesJson(ct)) {
    try {
      value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
    } catch (e) {
      const pos = /position (\d+)/.exec(String(e))?.[1];
      return badRequest(jsonInvalidMessage(pos ? Number(pos) : 0), TYPE_VALIDATION);
    }
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

function toIds(a: number[]): Int32Array {
  return Int32Array.from(a);
}

async function buildPrompts(ctx: EmulatorContext, f: ScoreFields, kind: 'text' | 'ids'): Promise<Prompts> {
  const items = typeof f.items === 'string' ? [f.items] : (f.items as string[] | number[][]);
  const mis = ctx.options.mis.kind !== 'off';
  if (kind === 'ids') {
    return { query: toIds(f.query as number[]), items: (items as number[][]).map(toIds), promptTokens: 0 };
  }
  const query = f.query as string;
  const texts = items as string[];
  if (mis) {
    // MIS tokenizes the query and each item on its own and joins them at the id level.
    const ids = await ctx.tokenizer.tokenize([query, ...texts]);
    return { query: ids[0] as Int32Array, items: ids.slice(1), promptTokens: 0 };
  }
  // Single-item mode tokenizes each whole prompt string, query and item together.
  const ids = await ctx.tokenizer.tokenizeJoined(query, texts, f.itemFirst);
  return { query: new Int32Array(0), items: ids, promptTokens: 0 };
}

function scoresJson(
  rows: number[][],
  model: string,
  promptTokens: number,
): string {
  // Field order of SGLang's ScoringResponse and UsageInfo.
  return (
    `{"scores":${JSON.stringify(rows)},"pooled_hidden_states":null,"model":${JSON.stringify(model)},` +
    `"usage":{"prompt_tokens":${promptTokens},"total_tokens":${promptTokens},"completion_tokens":0,` +
    `"prompt_tokens_details":null,"reasoning_tokens":0},"object":"scoring"}`
  );
}

export async function handleScore(
  ctx: EmulatorContext,
  req: IncomingMessage,
  res: ServerResponse,
  body: Buffer,
): Promise<void> {
  const started = performance.now();
  const reply = (r: Reply): void => {
    ctx.record('POST', '/v1/score', r.status, send(res, r.status, r.body));
  };
  const parsed = parseJsonRequest(req, body);
  if ('status' in parsed) return reply(parsed);
  const schema = validateScoreBody(parsed.value);
  if (!schema.ok) return reply(badRequest(schema.message, TYPE_VALIDATION));
  const f = schema.value;

  const items = f.items;
  const itemCount = items === null ? 0 : typeof items === 'string' ? (items.length > 0 ? 1 : 0) : items.length;
  const queryKind = f.query === null ? 'none' : typeof f.query === 'string' ? 'text' : 'ids';
  const itemsKind =
    items === null || itemCount === 0
      ? 'empty'
      : typeof items === 'string' || typeof items[0] === 'string'
        ? 'text'
        : 'ids';
  const labels = f.labels ?? [];
  const sem = scoreSemantics(f.labels !== null, labels, labels.length, items !== null, itemCount, queryKind, itemsKind, ctx.options.vocabSize);
  if (sem.kind === 'error') return reply(badRequest(sem.message, TYPE_BAD_REQUEST));
  if (sem.kind === 'empty') return reply({ status: 200, body: scoresJson([], f.model, 0) });

  if (await applyFault(ctx, res, '/v1/score')) return;
  const p = await buildPrompts(ctx, f, sem.kind);
  const mis = ctx.options.mis.kind !== 'off';
  const contextLen = ctx.options.contextLength;
  const rows: number[][] = [];

  if (mis) {
    let packed = p.query.length + p.items.length + 1; // n + 1 delimiters
    const itemLens = p.items.map((a) => a.length);
    for (const n of itemLens) packed += n;
    const tooLong = tooLongMessage(packed, contextLen, ctx.maxReqInputLen);
    if (tooLong) return reply(badRequest(tooLong, TYPE_BAD_REQUEST));
    await ctx.chargeFrontEnd(1, packed);
    await ctx.scheduler.run([packed], [packPairs(p.query.length, itemLens)], abortOnClose(res));
    if (res.destroyed) return;
    const qh = hashIds(HASH_INIT, p.query);
    for (const item of p.items) {
      const row: number[] = [];
      scoreRow(hashIds(qh, item), labels, f.applySoftmax, row);
      rows.push(row);
    }
    p.promptTokens = packed;
  } else {
    const lens: number[] = [];
    const pairs: number[] = [];
    const prompts: Array<[Int32Array, Int32Array]> = p.items.map((item) =>
      sem.kind === 'ids' && f.itemFirst ? [item, p.query] : [p.query, item],
    );
    for (const [a, b] of prompts) {
      const n = a.length + b.length;
      const tooLong = tooLongMessage(n, contextLen, ctx.maxReqInputLen);
      if (tooLong) return reply(badRequest(tooLong, TYPE_BAD_REQUEST));
      lens.push(n);
      pairs.push(causalPairs(n));
      p.promptTokens += n;
    }
    // patches/' fast path: a token-id request with apply_softmax and the query first runs as
    // exact-prefix packs (query once, no delimiters); scores and usage stay single-item's.
    if (ctx.options.patched && sem.kind === 'ids' && f.applySoftmax && !f.itemFirst) {
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
    for (const [a, b] of prompts) {
      const row: number[] = [];
      scoreRow(hashIds(hashIds(HASH_INIT, a), b), labels, f.applySoftmax, row);
      rows.push(row);
    }
  }
  ctx.metrics.finished(p.promptTokens, 0, (performance.now() - started) / 1000);
  reply({ status: 200, body: scoresJson(rows, f.model, p.promptTokens) });
}
