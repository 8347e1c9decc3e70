import { type CostParams, ZERO_COST } from './cost-model.js';
import { type Faults, NO_FAULTS } from './faults.js';

/** Which multi-item scoring generation the emulated server speaks, if any. */
export type MisMode = { kind: 'off' } | { kind: 'enable_mis' } | { kind: 'delimiter'; tokenId: number };

export interface EmulatorOptions {
  host: string;
  port: number;
  mis: MisMode;
  /** Cost-model profile name, reported in /server_info. */
  profile: string;
  cost: CostParams;
  modelPath: string;
  /** What /model_info reports as weight_version; any other than 'default' also reseeds the modelled weights. */
  weightVersion: string;
  servedModelName: string;
  contextLength: number;
  maxTotalTokens: number;
  apiKey: string | null;
  /** Advertise scorecar_patches in /server_info, as a patched SGLang would (patches/). */
  patched: boolean;
  faults: Faults;
  tokenizerThreads: number;
  maxBodyBytes: number;
  /** SGLang's tokenizer.vocab_size: the base vocabulary, without added tokens. */
  vocabSize: number;
  /** Rows of the model's embedding table (Qwen3 config.json vocab_size: 151936). */
  embeddingRows: number;
  /** tokenizer.model_max_length, what /tokenize reports as max_model_len. */
  tokenizerMaxLength: number;
  version: string;
}

export const DEFAULT_EMULATOR_OPTIONS: EmulatorOptions = {
  host: '127.0.0.1',
  port: 30000,
  mis: { kind: 'off' },
  profile: 'zero',
  cost: ZERO_COST,
  modelPath: 'Qwen/Qwen3-0.6B',
  weightVersion: 'default',
  servedModelName: 'Qwen/Qwen3-0.6B',
  contextLength: 40960,
  maxTotalTokens: 400000,
  apiKey: null,
  patched: false,
  faults: NO_FAULTS,
  tokenizerThreads: 1,
  maxBodyBytes: 256 * 1024 * 1024,
  vocabSize: 151643,
  embeddingRows: 151936,
  tokenizerMaxLength: 131072,
  version: '0.5.23-scorecar-emulator',
};

/** SGLang's rule: min(context_len - 1, max_total_num_tokens - 1) - 5. */
export function maxReqInputLen(o: EmulatorOptions): number {
  return Math.min(o.contextLength - 1, o.maxTotalTokens - 1) - 5;
}
