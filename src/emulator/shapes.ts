/**
 * Model and GPU shapes the cost model is derived from. Only two constants are fitted (see
 * profiles.ts); everything here is a published number or an architecture fact.
 */
export interface ModelShape {
  name: string;
  layers: number;
  hidden: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  intermediate: number;
  vocab: number;
}

/** Qwen3-0.6B (config.json): 28 layers, hidden 1024, 16 query / 8 KV heads of 128, MLP 3072. */
export const QWEN3_0_6B: ModelShape = {
  name: 'qwen3-0.6b',
  layers: 28,
  hidden: 1024,
  heads: 16,
  kvHeads: 8,
  headDim: 128,
  intermediate: 3072,
  vocab: 151936,
};

/** The paper's pruned model: MLP width halved and 8 layers fewer, about 375M parameters. */
export const PRUNED_375M: ModelShape = { ...QWEN3_0_6B, name: 'pruned-375m', layers: 20, intermediate: 1536 };

/** Parameters outside the (tied) embedding: what every prompt token multiplies through. */
export function nonEmbeddingParams(m: ModelShape): number {
  const q = m.hidden * m.heads * m.headDim;
  const kv = 2 * m.hidden * m.kvHeads * m.headDim;
  const o = m.heads * m.headDim * m.hidden;
  const mlp = 3 * m.hidden * m.intermediate;
  return m.layers * (q + kv + o + mlp);
}

export function totalParams(m: ModelShape): number {
  return nonEmbeddingParams(m) + m.vocab * m.hidden;
}

/** One NVIDIA H100 SXM: dense BF16 tensor throughput and HBM3 bandwidth (datasheet). */
export interface GpuShape {
  name: string;
  peakFlops: number;
  memoryBandwidth: number;
  /** Host-side cost of one kernel launch, microseconds. */
  kernelLaunchUs: number;
  /** Kernels one decoder layer launches in an eager (non-graph) prefill. */
  kernelsPerLayer: number;
}

export const H100_SXM: GpuShape = {
  name: 'H100-SXM',
  peakFlops: 989e12,
  memoryBandwidth: 3.35e12,
  kernelLaunchUs: 5,
  // norm, qkv gemm, q/k norm, rope, attention (+ plan), o gemm, residual, norm, gate_up gemm, act, down gemm, residual
  kernelsPerLayer: 12,
};
