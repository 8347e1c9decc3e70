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
  weightVersion: string;
  version: string;
  /** A patched server (patches/) advertising scorecar_patches. */
  patches: { exactPrefix: boolean; labelHead: boolean } | null;
  /** The scorecar emulator, which says so in /server_info. */
  emulator: boolean;
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
    weightVersion: String(modelInfo?.weight_version ?? serverInfo.weight_version ?? 'default'),
    version: String(serverInfo.version ?? 'unknown'),
    patches:
      patches && typeof patches === 'object'
        ? { exactPrefix: patches.exact_prefix === true, labelHead: patches.label_head === true }
        : null,
    emulator: typeof serverInfo.scorecar_emulator === 'object' && serverInfo.scorecar_emulator !== null,
  };
}
