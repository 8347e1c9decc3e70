import { type CostParams, ZERO_COST } from './cost-model.js';
import { type GpuShape, H100_SXM, type ModelShape, PRUNED_375M, QWEN3_0_6B, nonEmbeddingParams, totalParams } from './shapes.js';

/**
 * Cost-model profiles. A GPU profile derives every cost from the model's and the GPU's shape,
 * with exactly two constants fitted to the paper's Table 7 and shared by all profiles:
 *
 *  - gpuEfficiency: the share of peak BF16 throughput the prefill GEMMs and attention reach;
 *  - tokenizeUsPerToken: SGLang's tokenizer-manager cost per produced token on the serving host.
 *
 * Fixed, documented assumptions (not fitted): 100 us of Python overhead per tokenized text, 1 ms
 * of HTTP/IPC overhead per request (latency only), the GPU's kernel-launch cost, and SGLang's
 * default prefill budgets. bench/README.md has the derivation, the fit and its residuals.
 */
export interface FittedConstants {
  gpuEfficiency: number;
  tokenizeUsPerToken: number;
}

/** Fitted by `npm run bench:fit` (bench/calibrate/fit.ts) against Table 7; see bench/README.md. */
export const FITTED: FittedConstants = {
  gpuEfficiency: 0.3691,
  tokenizeUsPerToken: 2.4,
};

export const TOKENIZE_US_PER_TEXT = 100;
export const REQUEST_OVERHEAD_US = 1000;

/** Derives a model's cost parameters on a GPU from shapes and the two shared constants. */
export function deriveCost(m: ModelShape, gpu: GpuShape = H100_SXM, k: FittedConstants = FITTED): CostParams {
  const flops = gpu.peakFlops * k.gpuEfficiency;
  const us = (f: number): number => (f / flops) * 1e6;
  const bytesUs = (b: number): number => (b / gpu.memoryBandwidth) * 1e6;
  const weightsBytes = 2 * totalParams(m); // BF16, read once per forward step
  const kvBytesPerToken = 2 * 2 * m.layers * m.kvHeads * m.headDim; // K and V, BF16, written per token
  const launchUs = m.layers * gpu.kernelsPerLayer * gpu.kernelLaunchUs;
  return {
    stepLaunchUs: launchUs + bytesUs(weightsBytes),
    perTokenUs: us(2 * nonEmbeddingParams(m)) + bytesUs(kvBytesPerToken),
    // QK^T and AV: 2 matmuls x 2 FLOPs x heads x head_dim per (query, key) pair per layer.
    attnUs: us(4 * m.layers * m.heads * m.headDim),
    // The LM head at the scored position only (prefill-only requests skip the rest).
    perSeqUs: us(2 * m.hidden * m.vocab),
    maxPrefillTokens: 16384,
    chunkedPrefillSize: 8192,
    requestOverheadUs: REQUEST_OVERHEAD_US,
    tokenizePerTextUs: TOKENIZE_US_PER_TEXT,
    tokenizePerTokenUs: k.tokenizeUsPerToken,
    batchTokenize: false,
    // A decode step reads the weights once and launches every layer's kernels.
    decodeStepUs: launchUs + bytesUs(weightsBytes),
  };
}

const PROFILES: Record<string, () => CostParams> = {
  zero: () => ({ ...ZERO_COST }),
  'qwen3-0.6b': () => deriveCost(QWEN3_0_6B),
  'pruned-375m': () => deriveCost(PRUNED_375M),
};

export const PROFILE_NAMES = Object.keys(PROFILES);

export function profileCost(name: string): CostParams | undefined {
  return PROFILES[name]?.();
}

export const PROFILE_SHAPES: Record<string, ModelShape> = { 'qwen3-0.6b': QWEN3_0_6B, 'pruned-375m': PRUNED_375M };
