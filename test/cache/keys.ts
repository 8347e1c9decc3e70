import { createHash } from 'node:crypto';
import { KEY_BYTES } from '../../src/cache/score-cache.js';

/** A realistic key: 16 bytes of a cryptographic hash of `id`. */
export function hashedKey(id: number): Uint8Array {
  return createHash('md5').update(`item-${id}`).digest();
}

/**
 * A key whose four words XOR to zero, so every such key lands on the same table slot and they all
 * share one probe chain: the worst case for lookup, insert and backward-shift deletion.
 */
export function collidingKey(id: number): Uint8Array {
  const key = new Uint8Array(KEY_BYTES);
  const view = new DataView(key.buffer);
  view.setInt32(0, id, true);
  view.setInt32(4, id, true);
  return key;
}

/** Packs keys back to back, the layout getMany and setMany take. */
export function packKeys(keys: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(keys.length * KEY_BYTES);
  keys.forEach((k, i) => out.set(k, i * KEY_BYTES));
  return out;
}

export function scoreRow(id: number): Buffer {
  return Buffer.from(JSON.stringify([id / 1000, 1 - id / 1000]));
}

/** setMany arguments storing every key of a batch. */
export function storeAll(n: number): Int32Array {
  return Int32Array.from({ length: n }, (_, i) => i);
}
