/** Score-cache keys are opaque 128-bit hashes computed by the pipeline; key i of a batch is bytes [16i, 16i + 16). */
export const KEY_BYTES = 16;

/**
 * Little-endian word of a key at byte offset `off`, as a signed int32. Signed on purpose: V8 keeps
 * int32 values unboxed everywhere, while uint32 values above 2^31 become heap numbers outside
 * optimized code.
 */
export function keyWord(keys: Uint8Array, off: number): number {
  return (keys[off] as number) | ((keys[off + 1] as number) << 8) | ((keys[off + 2] as number) << 16) | ((keys[off + 3] as number) << 24);
}

/** Throws on a batch that reads past `keys`: a caller bug that must not turn into silent misses. */
export function checkKeyCount(keys: Uint8Array, n: number): void {
  if (!Number.isInteger(n) || n < 0 || n * KEY_BYTES > keys.length) {
    throw new RangeError(`score cache: ${n} keys need ${n * KEY_BYTES} bytes, got ${keys.length}`);
  }
}

/** Throws when `which` names a key outside the batch or `values` is short. */
export function checkStoreBatch(keys: Uint8Array, which: Int32Array, m: number, values: readonly Buffer[]): void {
  if (!Number.isInteger(m) || m < 0 || m > which.length || m > values.length) {
    throw new RangeError(`score cache: store of ${m} values with ${which.length} indices and ${values.length} values`);
  }
  checkWhich(keys, which, m);
}

/** Throws when `which` names a key outside the batch, or `ends` is short, falls or runs past `src`. */
export function checkRowBatch(keys: Uint8Array, which: Int32Array, m: number, src: Uint8Array, ends: Int32Array): void {
  if (!Number.isInteger(m) || m < 0 || m > which.length || m > ends.length) {
    throw new RangeError(`score cache: store of ${m} rows with ${which.length} indices and ${ends.length} ends`);
  }
  let from = 0;
  for (let j = 0; j < m; j++) {
    const to = ends[j] as number;
    if (to < from || to > src.length) throw new RangeError(`score cache: row ${j} ends at ${to}, after ${from}, in ${src.length} bytes`);
    from = to;
  }
  checkWhich(keys, which, m);
}

function checkWhich(keys: Uint8Array, which: Int32Array, m: number): void {
  const n = Math.floor(keys.length / KEY_BYTES);
  for (let j = 0; j < m; j++) {
    const i = which[j] as number;
    if (i < 0 || i >= n) throw new RangeError(`score cache: store index ${i} outside ${n} keys`);
  }
}
