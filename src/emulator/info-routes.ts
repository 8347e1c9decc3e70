import type { IncomingMessage, ServerResponse } from 'node:http';
import { TYPE_BAD_REQUEST, errorEnvelopeJson } from '../sglang/errors.js';
import type { EmulatorContext } from './context.js';
import { send, sendEmpty } from './http.js';
import { parseJsonRequest } from './score-route.js';
import { toJs } from '../sglang/orjson-parse.js';
import { SGLANG_SERVER_INFO_DEFAULTS } from './sglang-server-info.js';

/** /server_info: SGLang's flat server args, then scheduler info, internal_states and version. */
export function serverInfo(ctx: EmulatorContext): Record<string, unknown> {
  const o = ctx.options;
  const c = o.cost;
  const mis = o.mis;
  const args: Record<string, unknown> = {
    ...SGLANG_SERVER_INFO_DEFAULTS,
    // What the emulator models: one H100 serving the model in bf16.
    device: 'cuda',
    dtype: 'bfloat16',
    sampling_backend: 'flashinfer',
    disable_cuda_graph: false,
    model_path: o.modelPath,
    tokenizer_path: o.modelPath,
    tokenizer_mode: 'auto',
    skip_tokenizer_init: false,
    load_format: 'auto',
    trust_remote_code: false,
    context_length: o.contextLength,
    is_embedding: false,
    host: o.host,
    port: o.port,
    served_model_name: o.servedModelName,
    chunked_prefill_size: mis.kind === 'off' ? c.chunkedPrefillSize : -1,
    max_prefill_tokens: c.maxPrefillTokens,
    schedule_policy: 'fcfs',
    tp_size: 1,
    dp_size: 1,
    attention_backend: 'flashinfer',
    api_key: null,
    enable_metrics: true,
    enable_tokenizer_batch_encode: c.batchTokenize,
    disable_radix_cache: mis.kind !== 'off',
  };
  // The two multi-item scoring generations report themselves differently.
  if (mis.kind === 'delimiter') {
    // Releases of that generation had no enable_mis field.
    delete args.enable_mis;
    args.multi_item_scoring_delimiter = mis.tokenId;
  } else args.enable_mis = mis.kind === 'enable_mis';
  const scheduler = {
    status: 'ready',
    max_total_num_tokens: o.maxTotalTokens,
    max_req_input_len: ctx.maxReqInputLen,
  };
  const info: Record<string, unknown> = {
    ...args,
    ...scheduler,
    internal_states: [{ ...args, last_gen_throughput: 0, effective_max_running_requests_per_dp: 128 }],
    version: o.version,
    frontend: 'python',
    // Not SGLang's: this server is the scorecar emulator, and says so.
    scorecar_emulator: { profile: o.profile, note: 'simulated SGLang; scores and timings are modelled' },
  };
  if (o.patched) info.scorecar_patches = { exact_prefix: true, label_head: true };
  return info;
}

export function modelInfo(ctx: EmulatorContext): Record<string, unknown> {
  return {
    model_path: ctx.options.modelPath,
    tokenizer_path: ctx.options.modelPath,
    is_generation: true,
    preferred_sampling_params: null,
    weight_version: ctx.options.weightVersion,
    has_image_understanding: false,
    has_audio_understanding: false,
    model_type: 'qwen3',
    architectures: ['Qwen3ForCausalLM'],
    // The embedding table's size (config.json vocab_size). Real SGLang 0.5.23's /model_info does
    // not report it; scorecar reads it when present to range-check input ids (README "Limits").
    vocab_size: ctx.options.embeddingRows,
  };
}

export function models(ctx: EmulatorContext): Record<string, unknown> {
  const name = ctx.options.servedModelName;
  return {
    object: 'list',
    data: [
      {
        id: name,
        object: 'model',
        created: Math.floor(ctx.startedAt / 1000),
        owned_by: 'sglang',
        root: name,
        parent: null,
        max_model_len: ctx.options.contextLength,
      },
    ],
  };
}

export async function handleTokenize(ctx: EmulatorContext, req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> {
  const parsed = parseJsonRequest(req, body);
  if ('status' in parsed) return void send(res, parsed.status, parsed.body);
  const v = toJs(parsed.value) as { prompt?: unknown } | null;
  const prompt = v && typeof v === 'object' ? v.prompt : undefined;
  const bad = (): void => void send(res, 400, errorEnvelopeJson('prompt must be a string or a list of strings', TYPE_BAD_REQUEST, 400));
  if (typeof prompt === 'string') {
    const [ids] = await ctx.tokenizer.ids([prompt]);
    const tokens = Array.from(ids as Int32Array);
    return void send(res, 200, JSON.stringify({ tokens, count: tokens.length, max_model_len: ctx.options.tokenizerMaxLength }));
  }
  if (Array.isArray(prompt) && prompt.every((p) => typeof p === 'string')) {
    const ids = await ctx.tokenizer.ids(prompt as string[]);
    const tokens = ids.map((a) => Array.from(a));
    return void send(res, 200, JSON.stringify({ tokens, count: tokens.map((t) => t.length), max_model_len: ctx.options.tokenizerMaxLength }));
  }
  bad();
}

export async function handleDetokenize(ctx: EmulatorContext, req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> {
  const parsed = parseJsonRequest(req, body);
  if ('status' in parsed) return void send(res, parsed.status, parsed.body);
  const v = (toJs(parsed.value) ?? {}) as { tokens?: unknown; skip_special_tokens?: unknown };
  const skip = v.skip_special_tokens !== false;
  const tokens = v.tokens;
  const isIntList = (x: unknown): x is number[] => Array.isArray(x) && x.every((t) => Number.isInteger(t));
  if (isIntList(tokens)) {
    const text = await ctx.tokenizer.decode(Int32Array.from(tokens), skip);
    return void send(res, 200, JSON.stringify({ text }));
  }
  if (Array.isArray(tokens) && tokens.every(isIntList)) {
    const texts = await Promise.all((tokens as number[][]).map((t) => ctx.tokenizer.decode(Int32Array.from(t), skip)));
    return void send(res, 200, JSON.stringify({ text: texts }));
  }
  if (Array.isArray(tokens)) {
    return void send(
      res,
      400,
      errorEnvelopeJson(`Invalid input: Sublist in 'tokens' must contain only integers. Found: ${JSON.stringify(tokens)}`, TYPE_BAD_REQUEST, 400),
    );
  }
  send(res, 400, errorEnvelopeJson("Invalid input: 'tokens' must be a list of integers.", TYPE_BAD_REQUEST, 400));
}

export function handleHealth(res: ServerResponse): void {
  sendEmpty(res, 200);
}

export const FLUSH_CACHE_TEXT =
  'Cache flushed.\nPlease check backend logs for more details. (When there are running or waiting requests, the operation will not be performed.)\n';
export const FREEZE_GC_TEXT = 'Garbage collection frozen.\n';
