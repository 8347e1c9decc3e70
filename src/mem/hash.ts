/**
 * A 64-bit hash of raw bytes as two independent 32-bit lanes (FNV-1a and a murmur-style
 * multiply-rotate), computed without allocating. Token-cache and score-cache keys are built
 * from the bytes the client sent, so a cache hit never needs the text decoded.
 */
export const HASH_SEED_A = 0x811c9dc5;
export const HASH_SEED_B = 0x27d4eb2f;

/** Result lanes of the last hashBytes call (avoids returning an object per call). */
export const hashOut = new Int32Array(2);

export function hashBytes(buf: Uint8Array, start: number, end: number): void {
  let a = HASH_SEED_A;
  let b = HASH_SEED_B ^ (end - start);
  for (let i = start; i < end; i++) {
    const c = buf[i] as number;
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 15;
  }
  hashOut[0] = finalize(a);
  hashOut[1] = finalize(b ^ 0x9e3779b9);
}

/** Folds more bytes into existing lanes (for keys built from several fields). */
export function mixInt(h: number, v: number): number {
  h = Math.imul(h ^ v, 0x01000193);
  return Math.imul(h ^ (h >>> 15), 0x2c1b3c6d);
}

export function finalize(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0;
}

/** A 53-bit number key from two lanes, usable as a Map key without allocation. */
export function numberKey(a: number, b: number): number {
  return (a >>> 0) * 2097152 + ((b >>> 0) >>> 11);
}

/** Hashes a JS string's UTF-16 code units into hashOut (no encoding step, no allocation). */
export function hashString(s: string, seedA = HASH_SEED_A, seedB = HASH_SEED_B): void {
  let a = seedA ^ s.length;
  let b = seedB ^ Math.imul(s.length, 0x9e3779b1);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 15;
  }
  hashOut[0] = finalize(a);
  hashOut[1] = finalize(b ^ 0x9e3779b9);
}

/** Hashes int32 values into hashOut. */
export function hashInts(ids: ArrayLike<number>, start = 0, end = ids.length, seedA = HASH_SEED_A, seedB = HASH_SEED_B): void {
  let a = seedA ^ (end - start);
  let b = seedB ^ Math.imul(end - start, 0x85ebca6b);
  for (let i = start; i < end; i++) {
    const v = ids[i] as number;
    a = Math.imul(a ^ v, 0x01000193);
    a ^= a >>> 13;
    b = Math.imul(b ^ v, 0x5bd1e995);
    b ^= b >>> 15;
  }
  hashOut[0] = finalize(a);
  hashOut[1] = finalize(b ^ 0x27d4eb2f);
}
