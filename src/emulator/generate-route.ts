import { createHash, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { nativeErrorJson } from '../sglang/errors.js';
import { tooLongMessage } from '../sglang/score-schema.js';
import type { EmulatorContext } from './context.js';
import { causalPairs } from './cost-model.js';
import { applyFault } from './fault-response.js';
import { send } from './http.js';
import { abortOnClose } from './score-route.js';
import { hashIds, nextToken, tokenLogprob } from './model.js';

/**
 * /generate: SGLang's native route. Prefill-only requests (max_new_tokens 0) are the scoring
 * recipe: the logprobs of the requested ids at the next position, no decode. Longer requests
 * generate deterministic tokens, one modelled decode step each, optionally streamed as SSE.
 */

type LogprobEntry = [number | null, number, string | null];

class InputError extends Error {}

function perPrompt<T>(v: unknown, i: number, n: number, isScalar: (x: unknown) => boolean, fallback: T): T {
  if (v === undefined || v === null) return fallback;
  if (isScalar(v)) return v as T;
  if (Array.isArray(v)) {
    if (v.length !== n) throw new InputError(`The length of a per-request parameter (${v.length}) does not match the batch size (${n}).`);
    return (v[i] ?? fallback) as T;
  }
  throw new InputError('Invalid per-request parameter.');
}

const isBool = (x: unknown): boolean => typeof x === 'boolean';
const isInt = (x: unknown): boolean => typeof x === 'number' && Number.isInteger(x);
const isObject = (x: unknown): boolean => typeof x === 'object' && x !== null && !Array.isArray(x);
const isIntList = (x: unknown): boolean => Array.isArray(x) && x.every(isInt);

interface PromptSpec {
  ids: Int32Array;
  maxNewTokens: number;
  returnLogprob: boolean;
  logprobStartLen: number;
  tokenIdsLogprob: number[] | null;
  textInLogprobs: boolean;
}

async function readPrompts(ctx: EmulatorContext, body: Record<string, unknown>): Promise<{ specs: PromptSpec[]; batched: boolean }> {
  const { text, input_ids: inputIds } = body;
  let batched: boolean;
  let ids: Int32Array[];
  if (text !== undefined && text !== null) {
    if (typeof text === 'string') {
      batched = false;
      ids = await ctx.tokenizer.tokenize([text]);
    } else if (Array.isArray(text) && text.every((t) => typeof t === 'string')) {
      batched = true;
      ids = await ctx.tokenizer.tokenize(text as string[]);
    } else {
      throw new InputError('text must be a string or a list of strings.');
    }
  } else if (inputIds !== undefined && inputIds !== null) {
    if (isIntList(inputIds)) {
      batched = false;
      ids = [Int32Array.from(inputIds as number[])];
    } else if (Array.isArray(inputIds) && inputIds.every(isIntList)) {
      batched = true;
      ids = (inputIds as number[][]).map((a) => Int32Array.from(a));
    } else {
      throw new InputError('input_ids must be a list of integers or a list of lists of integers.');
    }
  } else {
    throw new InputError('Either text, input_ids or input_embeds should be provided.');
  }
  if (ids.length === 0) throw new InputError('input_ids cannot be empty.');
  const n = ids.length;
  const specs = ids.map((a, i): PromptSpec => {
    if (a.length === 0) throw new InputError('input_ids cannot be empty.');
    const sp = perPrompt<Record<string, unknown>>(body.sampling_params, i, n, isObject, {});
    const mnt = sp.max_new_tokens ?? 128;
    if (!isInt(mnt) || (mnt as number) < 0) throw new InputError('max_new_tokens must be a non-negative integer.');
    const til = body.token_ids_logprob;
    let tokenIdsLogprob: number[] | null = null;
    if (til !== undefined && til !== null) {
      if (isIntList(til)) tokenIdsLogprob = til as number[];
      else if (Array.isArray(til) && til.length === n && til.every(isIntList)) tokenIdsLogprob = til[i] as number[];
      else throw new InputError('token_ids_logprob must be a list of ints or one list per prompt.');
    }
    return {
      ids: a,
      maxNewTokens: mnt as number,
      returnLogprob: perPrompt(body.return_logprob, i, n, isBool, false),
      logprobStartLen: perPrompt(body.logprob_start_len, i, n, isInt, -1),
      tokenIdsLogprob,
      textInLogprobs: body.return_text_in_logprobs === true,
    };
  });
  return { specs, batched };
}

/** Logprob fields of meta_info for one prompt and the tokens generated so far. */
async function logprobFields(ctx: EmulatorContext, s: PromptSpec, generated: number[]): Promise<Record<string, unknown>> {
  const text = async (id: number): Promise<string | null> =>
    s.textInLogprobs ? ctx.tokenizer.decode(Int32Array.of(id), false) : null;
  const input: LogprobEntry[] = [];
  const inputIds: Array<LogprobEntry[] | null> = [];
  // -1 (and prefill-only requests) start after the prompt: no input-position logprobs.
  if (s.logprobStartLen >= 0) {
    let h = hashIds(ctx.hashInit, s.ids, 0, s.logprobStartLen);
    for (let i = s.logprobStartLen; i < s.ids.length; i++) {
      const id = s.ids[i] as number;
      input.push([i === 0 ? null : tokenLogprob(h, id), id, await text(id)]);
      if (s.tokenIdsLogprob) {
        const hh = h;
        inputIds.push(i === 0 ? null : await Promise.all(s.tokenIdsLogprob.map(async (t): Promise<LogprobEntry> => [tokenLogprob(hh, t), t, await text(t)])));
      }
      h = hashIds(h, s.ids, i, i + 1);
    }
  }
  const output: LogprobEntry[] = [];
  const outputIds: LogprobEntry[][] = [];
  let h = hashIds(ctx.hashInit, s.ids);
  const positions = Math.max(1, generated.length);
  for (let j = 0; j < positions; j++) {
    if (j < generated.length) output.push([tokenLogprob(h, generated[j] as number), generated[j] as number, await text(generated[j] as number)]);
    if (s.tokenIdsLogprob) {
      const hh = h;
      outputIds.push(await Promise.all(s.tokenIdsLogprob.map(async (t): Promise<LogprobEntry> => [tokenLogprob(hh, t), t, await text(t)])));
    }
    if (j < generated.length) h = hashIds(h, generated, j, j + 1);
  }
  const out: Record<string, unknown> = { input_token_logprobs: input, output_token_logprobs: output };
  if (s.tokenIdsLogprob) {
    out.input_token_ids_logprobs = inputIds;
    out.output_token_ids_logprobs = outputIds;
  }
  return out;
}

async function outputObject(
  ctx: EmulatorContext,
  s: PromptSpec,
  rid: string,
  generated: number[],
  finished: boolean,
  started: number,
): Promise<Record<string, unknown>> {
  const meta: Record<string, unknown> = {
    id: rid,
    finish_reason: finished ? { type: 'length', length: generated.length } : null,
    prompt_tokens: s.ids.length,
    weight_version: 'default',
    total_retractions: 0,
  };
  if (s.returnLogprob) Object.assign(meta, await logprobFields(ctx, s, generated));
  meta.completion_tokens = generated.length;
  meta.cached_tokens = 0;
  if (finished) meta.e2e_latency = (performance.now() - started) / 1000;
  const text = generated.length > 0 ? await ctx.tokenizer.decode(Int32Array.from(generated), true) : '';
  return { text, output_ids: generated.slice(), meta_info: meta };
}

export async function handleGenerate(
  ctx: EmulatorContext,
  req: IncomingMessage,
  res: ServerResponse,
  raw: Buffer,
): Promise<void> {
  const started = performance.now();
  const fail = (status: number, message: string): void => {
    ctx.record(req.method ?? 'POST', '/generate', status, send(res, status, nativeErrorJson(message)));
  };
  let body: Record<string, unknown>;
  try {
    const v = JSON.parse(raw.toString('utf8')) as unknown;
    if (!isObject(v)) return fail(400, 'The request body must be a JSON object.');
    body = v as Record<string, unknown>;
  } catch {
    return fail(400, 'Invalid JSON in the request body.');
  }
  let specs: PromptSpec[];
  let batched: boolean;
  try {
    ({ specs, batched } = await readPrompts(ctx, body));
  } catch (e) {
    if (e instanceof InputError) return fail(400, e.message);
    throw e;
  }
  for (const s of specs) {
    const contextLen = ctx.options.contextLength;
    const tooLong = tooLongMessage(s.ids.length, contextLen, ctx.maxReqInputLen);
    if (tooLong) return fail(400, tooLong);
    if (s.ids.length + s.maxNewTokens >= contextLen) {
      return fail(
        400,
        `Requested token count exceeds the model's maximum context length of ${contextLen} tokens. You requested a total of ${s.ids.length + s.maxNewTokens} tokens: ${s.ids.length} tokens from the input messages and ${s.maxNewTokens} tokens for the completion. Please reduce the number of tokens in the input messages or the completion to fit within the limit.`,
      );
    }
    if (s.returnLogprob && s.logprobStartLen >= s.ids.length) {
      return fail(
        400,
        `req.logprob_start_len=${s.logprobStartLen} is higher than the number of input tokens len(req.origin_input_ids)=${s.ids.length}. Please use a smaller logprob_start_len.`,
      );
    }
  }
  if (await applyFault(ctx, res, '/generate')) return;
  const stream = body.stream === true;
  await ctx.scheduler.run(
    specs.map((s) => s.ids.length),
    specs.map((s) => causalPairs(s.ids.length)),
    abortOnClose(res),
  );
  if (res.destroyed) return;
  if (!stream) {
    const outputs = await decode(ctx, res, specs, batched, null, started);
    if (outputs === null) return;
    const json = JSON.stringify(batched ? outputs : outputs[0]);
    ctx.record(req.method ?? 'POST', '/generate', 200, send(res, 200, json));
    return;
  }
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  res.flushHeaders();
  ctx.activeStreams++;
  const events = new StreamRecorder(res);
  try {
    const outputs = await decode(ctx, res, specs, batched, events, started);
    if (outputs === null) return;
    // Prefill-only streams still send their one final object.
    if (specs.every((s) => s.maxNewTokens === 0)) {
      outputs.forEach((obj, i) => {
        if (batched) obj.index = i;
        events.write(`data: ${JSON.stringify(obj)}\n\n`);
      });
    }
    events.end('data: [DONE]\n\n');
    // The whole stream's bytes, as for every other answer, so a proxy can be checked byte for byte.
    ctx.recordDigest(req.method ?? 'POST', '/generate', 200, events.bytes, events.digest());
  } finally {
    ctx.activeStreams--;
  }
}

/**
 * Runs the decode steps (one modelled step per token) and returns the final objects, or null
 * when the client went away mid-generation. With `stream` set, each step is written as an event.
 */
async function decode(
  ctx: EmulatorContext,
  res: ServerResponse,
  specs: PromptSpec[],
  batched: boolean,
  stream: StreamRecorder | null,
  started: number,
): Promise<Record<string, unknown>[] | null> {
  const rids = specs.map(() => randomUUID().replace(/-/g, ''));
  const generated: number[][] = specs.map(() => []);
  const hashes = specs.map((s) => hashIds(ctx.hashInit, s.ids));
  const maxSteps = Math.max(...specs.map((s) => s.maxNewTokens));
  let clientGone = false;
  res.on('close', () => {
    if (!res.writableFinished) clientGone = true;
  });
  for (let step = 0; step < maxSteps; step++) {
    await ctx.decodeResource.use(ctx.options.cost.decodeStepUs);
    if (clientGone) {
      ctx.abortedStreams++;
      ctx.metrics.aborted.inc({ model_name: ctx.options.servedModelName });
      return null;
    }
    for (let i = 0; i < specs.length; i++) {
      const s = specs[i] as PromptSpec;
      if (step >= s.maxNewTokens) continue;
      const tok = nextToken(hashes[i] as number);
      (generated[i] as number[]).push(tok);
      hashes[i] = hashIds(hashes[i] as number, [tok]);
      if (stream) {
        const obj = await outputObject(ctx, s, rids[i] as string, generated[i] as number[], step + 1 === s.maxNewTokens, started);
        if (batched) obj.index = i;
        stream.write(`data: ${JSON.stringify(obj)}\n\n`);
      }
    }
  }
  const outputs = await Promise.all(specs.map((s, i) => outputObject(ctx, s, rids[i] as string, generated[i] as number[], true, started)));
  let promptTokens = 0;
  for (const s of specs) promptTokens += s.ids.length;
  ctx.metrics.finished(promptTokens, maxSteps * specs.length, (performance.now() - started) / 1000);
  return outputs;
}

/** Writes a stream's events and keeps a running SHA-256 of every byte sent. */
class StreamRecorder {
  private readonly hash = createHash('sha256');
  bytes = 0;

  constructor(private readonly res: ServerResponse) {}

  write(chunk: string): void {
    this.res.write(this.count(chunk));
  }

  end(chunk: string): void {
    this.res.end(this.count(chunk));
  }

  private count(chunk: string): Buffer {
    const b = Buffer.from(chunk, 'utf8');
    this.hash.update(b);
    this.bytes += b.length;
    return b;
  }

  digest(): string {
    return this.hash.digest('hex');
  }
}
