/**
 * Which real keyed 128-bit hash is fastest in this Node for score-cache and token-cache keys?
 * Candidates: HMAC-SHA256 from node:crypto (truncated to 128 bits), BLAKE3 in keyed mode from
 * hash-wasm (WebAssembly) through its wrapper and driven directly (src/mem/blake3-wasm.ts, what
 * scorecar runs), and from @noble/hashes (pure JS), and SipHash-2-4 with 128-bit output from the
 * `siphash` package (pure JS). Beside the time, the heap bytes each hash allocates (HeapMeter). Each hashes a span of a larger buffer, as the pipeline
 * does (a text inside a request body), at the sizes a request carries: a 32-byte key combine,
 * short items, long items.
 *
 * Run: npm run build && node dist/bench/keyed-hash.js [--ms 400]
 */
import { createHmac, randomBytes } from 'node:crypto';
import { blake3 as nobleBlake3 } from '@noble/hashes/blake3.js';
import { createBLAKE3 } from 'hash-wasm';
import { createRequire } from 'node:module';
import { Blake3Wasm, loadBlake3Module } from '../src/mem/blake3-wasm.js';
import { HeapMeter } from '../src/metrics/heap-meter.js';

const require = createRequire(import.meta.url);
const sipDouble = require('siphash/lib/siphash-double') as { hash(key: Uint32Array | number[], m: Uint8Array): Uint32Array };

type HashFn = (buf: Uint8Array, start: number, end: number) => number;

const key = randomBytes(32);
const sipKey = new Uint32Array(key.buffer, key.byteOffset, 4).slice();

async function candidates(): Promise<Array<[string, HashFn]>> {
  const wasm = await createBLAKE3(128, key);
  const module = loadBlake3Module();
  if (typeof module === 'string') throw new Error(module);
  const direct = new Blake3Wasm(module);
  const digest = new Uint8Array(16);
  return [
    [
      'node:crypto HMAC-SHA256 (first 16 bytes)',
      (b, s, e) => {
        const d = createHmac('sha256', key).update(b.subarray(s, e)).digest();
        return d[0] as number;
      },
    ],
    [
      'hash-wasm BLAKE3 keyed (wasm, 128-bit)',
      (b, s, e) => {
        wasm.init();
        wasm.update(b.subarray(s, e));
        return wasm.digest('binary')[0] as number;
      },
    ],
    [
      'the same BLAKE3 module driven directly (src/mem/blake3-wasm.ts)',
      (b, s, e) => {
        direct.init(key);
        direct.update(b, s, e);
        direct.final16(digest, 0);
        return digest[0] as number;
      },
    ],
    [
      '@noble/hashes BLAKE3 keyed (JS, 128-bit)',
      (b, s, e) => nobleBlake3(b.subarray(s, e), { key, dkLen: 16 })[0] as number,
    ],
    ['siphash SipHash-2-4-128 (JS)', (b, s, e) => sipDouble.hash(sipKey, b.subarray(s, e))[0] as number],
  ];
}

function measure(fn: HashFn, buf: Uint8Array, size: number, ms: number): { ns: number; bytes: number } {
  const spans = Math.max(1, Math.floor(buf.length / size) - 1);
  let sink = 0;
  // Warm up so the JIT (or wasm tier-up) has settled.
  for (let i = 0; i < 2000; i++) sink ^= fn(buf, (i % spans) * size, (i % spans) * size + size);
  let ops = 0;
  const meter = new HeapMeter();
  meter.start();
  const started = performance.now();
  let now = started;
  while (now - started < ms) {
    for (let i = 0; i < 256; i++) {
      const s = ((ops + i) % spans) * size;
      sink ^= fn(buf, s, s + size);
    }
    ops += 256;
    now = performance.now();
  }
  meter.read();
  meter.stop();
  if (sink === 0.5) console.log('');
  return { ns: ((now - started) * 1e6) / ops, bytes: meter.allocatedBytes / ops };
}

async function main(): Promise<void> {
  const msArg = process.argv.indexOf('--ms');
  const ms = msArg >= 0 ? Number(process.argv[msArg + 1]) : 400;
  const buf = randomBytes(1 << 20);
  const sizes = [32, 100, 400, 2000];
  const rows: string[] = [];
  rows.push(`| hash | ${sizes.map((s) => `${s} B`).join(' | ')} |`);
  rows.push(`| --- | ${sizes.map(() => '---:').join(' | ')} |`);
  for (const [name, fn] of await candidates()) {
    const cells: string[] = [];
    for (const size of sizes) {
      const m = measure(fn, buf, size, ms);
      cells.push(`${m.ns.toFixed(0)} ns, ${m.bytes.toFixed(0)} B`);
    }
    rows.push(`| ${name} | ${cells.join(' | ')} |`);
  }
  console.log(`node ${process.version}, ${ms} ms per cell, ns and heap bytes allocated per hash of one span (lower is better)\n`);
  console.log(rows.join('\n'));
}

void main();
