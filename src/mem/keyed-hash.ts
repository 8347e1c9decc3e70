import { createHmac, randomBytes } from 'node:crypto';
import { type IHasher, createBLAKE3 } from 'hash-wasm';

/**
 * Keyed 128-bit hashes for cache identity: BLAKE3 in keyed mode (hash-wasm's WebAssembly
 * build, the fastest real keyed hash measured here: bench/keyed-hash.ts,
 * bench/results/keyed-hash.md). Score-cache keys, token-cache keys and the MACs on values
 * stored in Redis all come from here, so nobody without the deployment secret can predict a key
 * or craft two inputs that share one.
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

  private constructor(private readonly hashers: Record<HashPurpose, IHasher>) {}

  /** Hashers keyed by `secret` (any length; 32 random bytes when the deployment sets none). */
  static async create(secret: Uint8Array): Promise<KeyedHash> {
    const entries = await Promise.all(
      PURPOSES.map(async (p) => [p, await createBLAKE3(128, createHmac('sha256', secret).update(`scorecar cache ${p}`).digest())] as const),
    );
    return new KeyedHash(Object.fromEntries(entries) as Record<HashPurpose, IHasher>);
  }

  /** A random per-process secret, for a deployment that sets none. */
  static randomSecret(): Buffer {
    return randomBytes(32);
  }

  /** Hashes bytes [start, end) of buf under `purpose` into out[at .. at + 4) (four int32 lanes). */
  bytes(purpose: HashPurpose, buf: Uint8Array, start: number, end: number, out: Int32Array, at: number): void {
    const h = this.hashers[purpose];
    h.init();
    h.update(buf.subarray(start, end));
    writeLanes(h.digest('binary'), out, at);
  }

  /** Hashes ids[start, end) (their little-endian bytes) into out[at .. at + 4). */
  ints(ids: Int32Array, start: number, end: number, out: Int32Array, at: number): void {
    const h = this.hashers.ids;
    h.init();
    h.update(new Uint8Array(ids.buffer, ids.byteOffset + 4 * start, 4 * (end - start)));
    writeLanes(h.digest('binary'), out, at);
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
    const h = this.hashers[purpose];
    h.init();
    h.update(buf.subarray(start, end));
    dst.set(h.digest('binary'), dstAt);
  }

  /** MAC of a cache entry: key and value, 16 bytes into dst at dstAt. */
  mac(key: Uint8Array, value: Uint8Array, valueLength: number, dst: Uint8Array, dstAt: number): void {
    const h = this.hashers.mac;
    h.init();
    h.update(key);
    h.update(value.subarray(0, valueLength));
    dst.set(h.digest('binary'), dstAt);
  }
}

function writeLanes(d: Uint8Array, out: Int32Array, at: number): void {
  for (let k = 0; k < 4; k++) {
    const o = 4 * k;
    out[at + k] = (d[o] as number) | ((d[o + 1] as number) << 8) | ((d[o + 2] as number) << 16) | ((d[o + 3] as number) << 24);
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
