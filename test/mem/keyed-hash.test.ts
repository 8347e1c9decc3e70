import { createHmac, randomBytes } from 'node:crypto';
import { createBLAKE3 } from 'hash-wasm';
import { describe, expect, it } from 'vitest';
import { KeyedHash } from '../../src/mem/keyed-hash.js';

/** What every KeyedHash method gave when it went through hash-wasm's wrapper: keys shared through Redis must not change. */
async function wrapper(secret: Buffer, purpose: string, parts: Uint8Array[]): Promise<Buffer> {
  const h = await createBLAKE3(128, createHmac('sha256', secret).update(`scorecar cache ${purpose}`).digest());
  h.init();
  for (const p of parts) h.update(p);
  return Buffer.from(h.digest('binary'));
}

const lanesOf = (d: Buffer): number[] => [0, 4, 8, 12].map((o) => d.readInt32LE(o));

describe('KeyedHash', () => {
  it('gives the digests of the hash-wasm wrapper it replaced, for every method and purpose', async () => {
    const secret = Buffer.from('replica-shared secret');
    const h = await KeyedHash.create(secret);
    const body = randomBytes(3_000);
    const out = new Int32Array(8);
    for (const purpose of ['text', 'ids', 'key', 'mac'] as const) {
      h.bytes(purpose, body, 17, 2_017, out, 4);
      expect(Array.from(out.subarray(4))).toEqual(lanesOf(await wrapper(secret, purpose, [body.subarray(17, 2_017)])));
      const dst = Buffer.alloc(20);
      h.digestInto(purpose, body, 5, 37, dst, 2);
      expect(dst.subarray(2, 18)).toEqual(await wrapper(secret, purpose, [body.subarray(5, 37)]));
    }
    const ids = Int32Array.from({ length: 300 }, (_, i) => i * 7919 - 5);
    h.ints(ids, 10, 180, out, 0);
    expect(Array.from(out.subarray(0, 4))).toEqual(lanesOf(await wrapper(secret, 'ids', [new Uint8Array(ids.buffer, 40, 4 * 170)])));
    h.text('text', 'Zürich 🚀 engineer', out, 0);
    expect(Array.from(out.subarray(0, 4))).toEqual(lanesOf(await wrapper(secret, 'text', [Buffer.from('Zürich 🚀 engineer')])));
    const key = randomBytes(16);
    const value = randomBytes(64);
    const mac = Buffer.alloc(16);
    h.mac(key, value, 40, mac, 0);
    expect(mac).toEqual(await wrapper(secret, 'mac', [key, value.subarray(0, 40)]));
  });

  it('gives the same digests for spans of a staged buffer, and none from a stale stage', async () => {
    const secret = Buffer.from('replica-shared secret');
    const h = await KeyedHash.create(secret);
    const body = randomBytes(4_096);
    const out = new Int32Array(4);
    h.stage(body, 3_000);
    try {
      for (const [s, e] of [[0, 0], [10, 90], [100, 1_100], [7, 2_999]] as const) {
        h.bytes('text', body, s, e, out, 0);
        expect(Array.from(out), `${s}-${e}`).toEqual(lanesOf(await wrapper(secret, 'text', [body.subarray(s, e)])));
      }
      // Past the staged length: hashed from the buffer itself.
      h.bytes('text', body, 2_900, 3_500, out, 0);
      expect(Array.from(out)).toEqual(lanesOf(await wrapper(secret, 'text', [body.subarray(2_900, 3_500)])));
    } finally {
      h.unstage();
    }
    // The buffer changes after unstage (a pooled buffer reused): its new bytes are hashed.
    body.fill(0x41, 0, 100);
    h.bytes('text', body, 10, 90, out, 0);
    expect(Array.from(out)).toEqual(lanesOf(await wrapper(secret, 'text', [Buffer.alloc(80, 0x41)])));
  });

  it('gives fixed known answers: a change of key derivation or hash would change every shared cache key', async () => {
    // Recorded 2026-12-03; the 'text' digest agrees with @noble/hashes' keyed BLAKE3 under the same derived key.
    const h = await KeyedHash.create(Buffer.from('scorecar known-answer secret'));
    const buf = Buffer.from('Senior engineer, Zürich');
    const out = new Int32Array(4);
    h.bytes('key', buf, 0, buf.length, out, 0);
    expect(Array.from(out)).toEqual([-204390876, 1651839432, -2059497864, -578426301]);
    const d = Buffer.alloc(16);
    h.digestInto('text', buf, 0, buf.length, d, 0);
    expect(d.toString('hex')).toBe('3e5a8e90eac0d34f6eb41fa86abf2834');
  });

  it('keys differ by secret and by purpose', async () => {
    const a = await KeyedHash.create(Buffer.from('a'));
    const b = await KeyedHash.create(Buffer.from('b'));
    const buf = Buffer.from('same input');
    const out = new Int32Array(12);
    a.bytes('text', buf, 0, buf.length, out, 0);
    b.bytes('text', buf, 0, buf.length, out, 4);
    a.bytes('key', buf, 0, buf.length, out, 8);
    expect(new Set([0, 4, 8].map((o) => out.subarray(o, o + 4).join())).size).toBe(3);
  });
});
