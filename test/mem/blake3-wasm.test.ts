import { randomBytes } from 'node:crypto';
import { blake3 as nobleBlake3 } from '@noble/hashes/blake3.js';
import { createBLAKE3 } from 'hash-wasm';
import { describe, expect, it } from 'vitest';
import { Blake3Wasm, loadBlake3Module } from '../../src/mem/blake3-wasm.js';
import { mulberry32 } from '../support/random-texts.js';

/** hash-wasm's own wrapper over the same module: the digests cache keys were made with until now. */
async function reference(key: Uint8Array, parts: Uint8Array[]): Promise<Uint8Array> {
  const h = await createBLAKE3(128, key);
  h.init();
  for (const p of parts) h.update(p);
  return h.digest('binary');
}

describe('Blake3Wasm (hash-wasm BLAKE3 module driven directly)', () => {
  const module = loadBlake3Module();

  it("loads the package's module, whose sha256 is pinned", () => {
    expect(typeof module).not.toBe('string');
  });

  it("gives the wrapper's digests for every span length around block, chunk and buffer edges", async () => {
    if (typeof module === 'string') throw new Error(module);
    const b3 = new Blake3Wasm(module);
    const rnd = mulberry32(5);
    const src = randomBytes(40_000);
    const lengths = [0, 1, 31, 32, 33, 63, 64, 65, 66, 67, 100, 127, 128, 129, 255, 256, 257, 511, 512, 513, 680, 1023, 1024, 1025, 2048, 4097, 16_383, 16_384, 16_385, 32_769, 39_000];
    for (let k = 0; k < 40; k++) lengths.push(Math.floor(rnd() * 20_000));
    const out = new Uint8Array(20);
    for (const n of lengths) {
      const key = randomBytes(32);
      const start = Math.floor(rnd() * (src.length - n));
      b3.init(key);
      b3.update(src, start, start + n);
      b3.final16(out, 3);
      expect(Buffer.from(out.subarray(3, 19)).toString('hex'), `length ${n}`).toBe(Buffer.from(await reference(key, [src.subarray(start, start + n)])).toString('hex'));
    }
  });

  it('gives the same digests from spans of views at odd offsets, of buffers taken in turn, small and over 4 MiB', async () => {
    if (typeof module === 'string') throw new Error(module);
    const b3 = new Blake3Wasm(module);
    const rnd = mulberry32(9);
    // A slice of a shared slab (byteOffset not 0), a buffer of its own, one over the kept-view limit.
    const slab = randomBytes(9_000);
    const sources = [slab.subarray(1_003, 8_001), randomBytes(3_000), randomBytes(5 * 1024 * 1024 + 3)];
    const out = new Uint8Array(16);
    for (let k = 0; k < 60; k++) {
      const src = sources[k % 3] as Uint8Array;
      const n = 65 + Math.floor(rnd() * 460);
      const start = Math.floor(rnd() * (Math.min(src.length, 2_500) - n));
      const key = randomBytes(32);
      b3.init(key);
      b3.update(src, start, start + n);
      b3.final16(out, 0);
      expect(Buffer.from(out).toString('hex'), `source ${k % 3}, length ${n} at ${start}`).toBe(Buffer.from(await reference(key, [src.subarray(start, start + n)])).toString('hex'));
    }
  });

  it('hashes spans of a staged buffer as update() does, and forgets the stage at a long update or unstage()', async () => {
    if (typeof module === 'string') throw new Error(module);
    const b3 = new Blake3Wasm(module);
    const rnd = mulberry32(12);
    const out = new Uint8Array(16);
    const direct = new Uint8Array(16);
    // A pooled buffer that fits whole, one longer than the room (its first `length` bytes go), and one too long to stage.
    for (const [size, length] of [[8_192, 7_000], [32_768, 15_000], [40_000, 30_000]] as const) {
      const src = randomBytes(size);
      const staged = b3.stage(src, length);
      expect(staged).toBe(length <= 15 * 1024);
      expect(b3.holds(src, length)).toBe(staged);
      expect(b3.holds(src, length + 1)).toBe(false);
      if (!staged) continue;
      for (let k = 0; k < 40; k++) {
        const n = Math.floor(rnd() * (k < 30 ? 1_500 : length));
        const start = Math.floor(rnd() * (length - n));
        const key = randomBytes(32);
        // The direct digest first: an update over SPAN_BYTES (1 KiB) ends the stage, so stage again after it.
        b3.init(key);
        b3.update(src, start, start + n);
        b3.final16(direct, 0);
        if (!b3.holds(src, length)) b3.stage(src, length);
        b3.init(key);
        b3.updateStaged(start, start + n);
        b3.final16(out, 0);
        expect(Buffer.from(out).toString('hex'), `span ${start}+${n} of ${length}`).toBe(Buffer.from(direct).toString('hex'));
        // Short updates in between (keys, digests, spans of other buffers) keep the stage.
        b3.init(key);
        b3.update(randomBytes(600), 0, 600);
        b3.final16(direct, 0);
        expect(b3.holds(src, length)).toBe(true);
      }
      b3.init(randomBytes(32));
      b3.update(randomBytes(2_000), 0, 2_000);
      expect(b3.holds(src, length)).toBe(false);
      b3.stage(src, length);
      b3.unstage();
      expect(b3.holds(src, length)).toBe(false);
    }
  });

  it('agrees with an independent BLAKE3 (@noble/hashes, pure JS) and refuses keys that are not 32 bytes', () => {
    if (typeof module === 'string') throw new Error(module);
    const b3 = new Blake3Wasm(module);
    const src = randomBytes(50_001);
    const d = new Uint8Array(16);
    for (const n of [0, 1, 64, 65, 1_024, 16_384, 16_385, 50_000]) {
      const key = randomBytes(32);
      b3.init(key);
      b3.update(src, 1, 1 + n);
      b3.final16(d, 0);
      expect(Buffer.from(d).toString('hex'), `length ${n}`).toBe(Buffer.from(nobleBlake3(src.subarray(1, 1 + n), { key, dkLen: 16 })).toString('hex'));
    }
    expect(() => b3.init(randomBytes(16))).toThrow(/32 bytes/);
  });

  it('hashes several updates as one stream, ints as their little-endian bytes, lanes as the digest words', async () => {
    if (typeof module === 'string') throw new Error(module);
    const b3 = new Blake3Wasm(module);
    const key = randomBytes(32);
    const a = randomBytes(700);
    const b = randomBytes(5_000);
    const d = new Uint8Array(16);
    b3.init(key);
    b3.update(a, 0, a.length);
    b3.update(b, 10, 4_010);
    b3.final16(d, 0);
    expect(Buffer.from(d)).toEqual(Buffer.from(await reference(key, [a, b.subarray(10, 4_010)])));

    const ids = Int32Array.from({ length: 5_000 }, (_, i) => (i * 2_654_435_761) | 0);
    const lanes = new Int32Array(6);
    b3.init(key);
    b3.updateInts(ids, 7, 4_500);
    b3.finalLanes(lanes, 2);
    const ref = await reference(key, [new Uint8Array(ids.buffer, 4 * 7, 4 * (4_500 - 7))]);
    expect(Array.from(lanes.subarray(2))).toEqual(Array.from(new Int32Array(ref.buffer, ref.byteOffset, 4)));
  });
});
