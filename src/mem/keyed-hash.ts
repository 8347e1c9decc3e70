import { createHmac, randomBytes } from 'node:crypto';
import { Blake3Wasm, loadBlake3Module } from './blake3-wasm.js';

/**
 * Keyed 128-bit hashes for cache identity: BLAKE3 in keyed mode (hash-wasm's WebAssembly
 * module, the fastest real keyed hash measured here: bench/keyed-hash.ts,
 * bench/results/keyed-hash.md, driven directly by blake3-wasm.ts: nothing allocated for spans up
 * to 512 bytes, one 96-byte view above, where hash-wasm's wrapper allocated ~506 B per hash).
 * Score-cache keys, token-cache keys and the MACs on values stored in Redis all come from here,
 * so nobody without the deployment secret can predict a key or craft two inputs that share one.
 *
 * One secret, several purposes: each purpose hashes under its own key, derived from the secret
 * as HMAC-SHA256(secret, purpose), so a hash made for one purpose never equals one made for
 * another by construction of its input alone.
 */
export type HashPurpose = 'text' | 'ids' | 'key' | 'mac';

const PURPOSES: readonly HashPurpose[] = ['text', 'ids', 'key', 'mac'];

/** Bytes of every digest: 128 bits. */
export const DIGEST_BYTES = 16;

export class KeyedHash {
  private scratch = Buffer.allocUnsafeSlow(4096);

  private constructor(
    private readonly keys: Record<HashPurpose, Buffer>,
    private readonly b3: Blake3Wasm,
  ) {}

  /** Hashers keyed by `secret` (any length; 32 random bytes when the deployment sets none). */
  static async create(secret: Uint8Array): Promise<KeyedHash> {
    const module = loadBlake3Module();
    if (typeof module === 'string') throw new Error(`cache keys: ${module}`);
    const keys = Object.fromEntries(PURPOSES.map((p) => [p, createHmac('sha256', secret).update(`scorecar cache ${p}`).digest()]));
    return new KeyedHash(keys as Record<HashPurpose, Buffer>, new Blake3Wasm(module));
  }

  /** A random per-process secret, for a deployment that sets none. */
  static randomSecret(): Buffer {
    return randomBytes(32);
  }

  /** Hashes bytes [start, end) of buf under `purpose` into out[at .. at + 4) (four int32 lanes). */
  bytes(purpose: HashPurpose, buf: Uint8Array, start: number, end: number, out: Int32Array, at: number): void {
    this.b3.init(this.keys[purpose]);
    if (this.b3.holds(buf, end)) this.b3.updateStaged(start, end);
    else this.b3.update(buf, start, end);
    this.b3.finalLanes(out, at);
  }

  /**
   * Copies buf[0, length) into the hasher once, so that bytes() of its spans copies nothing out
   * of the JS heap (a request's query and items: one view per text hashed was ~1 KB of heap per
   * warm-text request). Digests are the same either way. The caller unstages in a `finally`: a
   * pooled buffer comes back with other bytes, and a stale copy must never be hashed.
   */
  stage(buf: Uint8Array, length: number): void {
    this.b3.stage(buf, length);
  }

  unstage(): void {
    this.b3.unstage();
  }

  /** Hashes ids[start, end) (their little-endian bytes) into out[at .. at + 4). */
  ints(ids: Int32Array, start: number, end: number, out: Int32Array, at: number): void {
    this.b3.init(this.keys.ids);
    this.b3.updateInts(ids, start, end);
    this.b3.finalLanes(out, at);
  }

  /** Hashes a string's UTF-8 bytes under `purpose` into out[at .. at + 4). */
  text(purpose: HashPurpose, s: string, out: Int32Array, at: number): void {
    const need = 3 * s.length;
    if (need > this.scratch.length) this.scratch = Buffer.allocUnsafeSlow(Math.max(need, 2 * this.scratch.length));
    const n = this.scratch.write(s, 0, 'utf8');
    this.bytes(purpose, this.scratch, 0, n, out, at);
  }

  /** The 16-byte digest of buf[start, end) under `purpose`, written into dst at dstAt. */
  digestInto(purpose: HashPurpose, buf: Uint8Array, start: number, end: number, dst: Uint8Array, dstAt: number): void {
    this.b3.init(this.keys[purpose]);
    this.b3.update(buf, start, end);
    this.b3.final16(dst, dstAt);
  }

  /** MAC of a cache entry: key and value, 16 bytes into dst at dstAt. */
  mac(key: Uint8Array, value: Uint8Array, valueLength: number, dst: Uint8Array, dstAt: number): void {
    this.b3.init(this.keys.mac);
    this.b3.update(key, 0, key.length);
    this.b3.update(value, 0, valueLength);
    this.b3.final16(dst, dstAt);
  }
}

/**
 * The deployment secret from --cache-key-secret / SCORECAR_CACHE_KEY_SECRET, or a random one for
 * this process (then replicas cannot share score-cache entries, and the log says so).
 */
export function cacheKeySecret(configured: string | null, log: (msg: string) => void): Buffer {
  if (configured !== null) return Buffer.from(configured, 'utf8');
  log('cache keys: no --cache-key-secret (SCORECAR_CACHE_KEY_SECRET) set, using a random per-process secret; replicas will not share score-cache entries');
  return KeyedHash.randomSecret();
}
