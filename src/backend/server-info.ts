/**
 * What scorecar learns about a backend at start: which scoring protocol it speaks, its limits
 * and model identity. Read from /server_info (or /get_server_info) and /model_info (or
 * /get_model_info); never assumed from a flag.
 */
export type ScoringMode = 'mis' | 'single';

export interface BackendInfo {
  mode: ScoringMode;
  /** Which MIS generation: today's `enable_mis`, or the older `multi_item_scoring_delimiter`. */
  misFlavor: 'enable_mis' | 'delimiter' | null;
  maxReqInputLen: number;
  contextLength: number;
  /**
   * Rows of the model's embedding table when the backend reports them (/model_info vocab_size;
   * real SGLang 0.5.23 does not, the emulator does). Input ids at or above it are refused.
   */
  vocabSize: number | null;
  modelPath: string;
  /** The name clients may send as `model` (SGLang --served-model-name; the model path if unset). */
  servedModelName?: string;
  weightVersion: string;
  version: string;
  /** A patched server (patches/) advertising scorecar_patches. */
  patches: { exactPrefix: boolean; labelHead: boolean } | null;
  /** The scorecar emulator, which says so in /server_info. */
  emulator: boolean;
  /**
   * FastAPI's endpoint line in this backend's /v1/score validation messages (its install path
   * and line), so scorecar's own 400s carry the same bytes; null until probed.
   */
  scoreEndpointContext: string | null;
}

/** The endpoint block of a validation message, as validation-error.ts composes it. */
const ENDPOINT_CONTEXT = /\n(\n {2}File "[^\n]*", line \d+, in [^\n]+\n {4}POST \/v1\/score)/;

/**
 * Reads the endpoint block out of the backend's answer to a body that fails validation; ''
 * when its FastAPI writes none, null when the answer is not such an error.
 */
export function parseEndpointContext(status: number, body: string): string | null {
  if (status !== 400) return null;
  try {
    const message = (JSON.parse(body) as { message?: unknown }).message;
    if (typeof message !== 'string' || !message.includes('validation error')) return null;
    return ENDPOINT_CONTEXT.exec(message)?.[1] ?? '';
  } catch {
    return null;
  }
}

/**
 * Whether two reads of a backend describe the same server as far as answers depend on it: model,
 * weights, scoring mode and limits. A change invalidates what was keyed by the old identity.
 */
export function sameIdentity(a: BackendInfo, b: BackendInfo): boolean {
  return (
    a.modelPath === b.modelPath &&
    a.weightVersion === b.weightVersion &&
    a.mode === b.mode &&
    a.misFlavor === b.misFlavor &&
    a.maxReqInputLen === b.maxReqInputLen &&
    a.contextLength === b.contextLength &&
    a.emulator === b.emulator &&
    a.patches?.exactPrefix === b.patches?.exactPrefix &&
    a.patches?.labelHead === b.patches?.labelHead
  );
}

function num(v: unknown, fallback: number): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : fallback;
}

export function parseBackendInfo(serverInfo: Record<string, unknown>, modelInfo: Record<string, unknown> | null): BackendInfo {
  const delimiter = serverInfo.multi_item_scoring_delimiter;
  let misFlavor: BackendInfo['misFlavor'] = null;
  if (serverInfo.enable_mis === true) misFlavor = 'enable_mis';
  else if (typeof delimiter === 'number') misFlavor = 'delimiter';
  const patches = serverInfo.scorecar_patches as { exact_prefix?: unknown; label_head?: unknown } | undefined;
  const contextLength = num(serverInfo.context_length, 32768);
  return {
    mode: misFlavor ? 'mis' : 'single',
    misFlavor,
    maxReqInputLen: num(serverInfo.max_req_input_len, contextLength - 6),
    contextLength,
    vocabSize: typeof modelInfo?.vocab_size === 'number' && Number.isInteger(modelInfo.vocab_size) && modelInfo.vocab_size > 0 ? modelInfo.vocab_size : null,
    modelPath: String(modelInfo?.model_path ?? serverInfo.model_path ?? 'unknown'),
    servedModelName: typeof serverInfo.served_model_name === 'string' ? serverInfo.served_model_name : undefined,
    weightVersion: String(modelInfo?.weight_version ?? serverInfo.weight_version ?? 'default'),
    version: String(serverInfo.version ?? 'unknown'),
    patches:
      patches && typeof patches === 'object'
        ? { exactPrefix: patches.exact_prefix === true, labelHead: patches.label_head === true }
        : null,
    emulator: typeof serverInfo.scorecar_emulator === 'object' && serverInfo.scorecar_emulator !== null,
    scoreEndpointContext: null,
  };
}
