import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { type WasmModule, wasm } from './wasm-api.js';

/**
 * hash-wasm's own BLAKE3 WebAssembly module, driven without its JS wrapper.
 *
 * Why by hand: the wrapper allocates on every call (a subarray per update, a `slice` per binary
 * digest: 506 B per hash) and adds ~0.1 µs of JS; this allocates nothing for spans up to 512 bytes
 * and one 96-byte view above, ~1.5x faster at 32 bytes (bench/results/keyed-hash.md). A request
 * with the score cache on hashes every item twice, so the wrapper's garbage was most of the
 * cache's heap cost per item (bench/results/hotpath.md: ids with the cache on at 0% hits went
 * from 4,032 to 2,921 B per item). The module is the package's, byte for byte (its sha256 is
 * pinned below), so every digest is the one the wrapper gives: cache keys shared through Redis do
 * not change. The package ships the module only as base64 inside its bundles; it is read from
 * the BLAKE3-only one.
 *
 * The module's ABI (hash-wasm's src/blake3.c): one static 16 KiB I/O buffer at Hash_GetBuffer();
 * Hash_Init(32) takes the key from that buffer, Hash_Update(n) hashes its first n bytes,
 * Hash_Final(n) writes an n-byte digest to its start. Nothing allocates in WebAssembly memory,
 * so the memory never grows and the views below stay valid (checked anyway).
 */
const WASM_SHA256 = 'c6c8d4e499fde057c89df0461b560fe68f1fac1b384c444870c3490c31bf41fe';
const BUFFER_BYTES = 16 * 1024;
/**
 * Spans up to this many bytes are copied into the module by words instead of set(): ~0.3 ns a
 * byte against set()'s ~65 ns flat (scratch measure, Node 20), so equal near 100-200 bytes and
 * still under 0.2 µs at 512, where the hash itself costs several times that; above, set() and
 * its one view (under 0.2 B per byte hashed).
 */
const WORD_COPY_MAX = 512;
/**
 * The I/O buffer's first SPAN_BYTES take each update's bytes, key and digest; the rest holds a
 * staged text (stage()), whose spans are hashed without a view each.
 */
const SPAN_BYTES = 1024;
const STAGE_BYTES = BUFFER_BYTES - SPAN_BYTES;
/** The largest source buffer a DataView is kept on: the buffer pools' largest kept class (4 MiB). */
const SOURCE_VIEW_MAX = 4 * 1024 * 1024;
const NEEDS = 'scorecar needs hash-wasm@4.13.0, as package.json pins it';

interface Blake3Exports {
  memory: { buffer: ArrayBuffer };
  Hash_GetBuffer(): number;
  Hash_Init(keyLen: number): void;
  Hash_Update(len: number): void;
  Hash_Final(digestBytes: number): void;
}

/** The module's bytes, or why they cannot be had (the package changed shape). */
export function loadBlake3Module(): WasmModule | string {
  let source: string;
  try {
    source = readFileSync(createRequire(import.meta.url).resolve('hash-wasm/dist/blake3.umd.min.js'), 'utf8');
  } catch (e) {
    return `hash-wasm's blake3 bundle not found (${(e as Error).message}); ${NEEDS}`;
  }
  const m = /"(AGFzbQ[A-Za-z0-9+/=]+)"/.exec(source);
  if (m === null) return `no WebAssembly module in hash-wasm's blake3 bundle; ${NEEDS}`;
  const bytes = Buffer.from(m[1] as string, 'base64');
  const sha = createHash('sha256').update(bytes).digest('hex');
  if (sha !== WASM_SHA256) return `hash-wasm's BLAKE3 module changed (sha256 ${sha}, pinned ${WASM_SHA256}); ${NEEDS}`;
  return new wasm.Module(bytes);
}

/** One BLAKE3 instance: keyed 128-bit hashes into caller-owned memory; allocates one view per span over 512 bytes (and a DataView per new source buffer), nothing else. */
export class Blake3Wasm {
  private readonly exports: Blake3Exports;
  private readonly at: number;
  private heap: Uint8Array;
  private heap32: Int32Array;
  /** What stage() copied in, and its length (null: nothing). */
  private staged: Uint8Array | null = null;
  private stagedLength = 0;
  /** A view of the buffer the last mid-sized span came from (see sourceView). */
  private srcBuffer: ArrayBufferLike | null = null;
  private src: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));

  constructor(module: WasmModule) {
    this.exports = new wasm.Instance(module, {}).exports as Blake3Exports;
    this.at = this.exports.Hash_GetBuffer();
    // The buffer is 128-byte aligned in the module (alignas(128)); int32 copies rely on it.
    if (this.at % 4 !== 0) throw new Error(`BLAKE3 module buffer at ${this.at} is not 4-byte aligned`);
    this.heap = new Uint8Array(this.exports.memory.buffer);
    this.heap32 = new Int32Array(this.exports.memory.buffer);
  }

  private view(): Uint8Array {
    if (this.heap.buffer !== this.exports.memory.buffer) {
      this.heap = new Uint8Array(this.exports.memory.buffer);
      this.heap32 = new Int32Array(this.exports.memory.buffer);
    }
    return this.heap;
  }

  /** Starts a hash keyed by `key` (32 bytes). */
  init(key: Uint8Array): void {
    // The module reads 32 key bytes from its buffer whatever is there: a short key would mix in old bytes.
    if (key.length !== 32) throw new RangeError(`BLAKE3 keys are 32 bytes, got ${key.length}`);
    this.view().set(key, this.at);
    this.exports.Hash_Init(32);
  }

  /**
   * Copies src[0, length) into the I/O buffer past its first SPAN_BYTES, where the module never
   * reads or writes, so that many spans of it can be hashed (updateStaged) with a copy inside
   * the module's memory each (copyWithin: no view). False when it does not fit; it stays staged
   * until unstage(), or until a write into the I/O buffer past SPAN_BYTES (a long update).
   */
  stage(src: Uint8Array, length: number): boolean {
    this.unstage();
    if (length > STAGE_BYTES) return false;
    const heap = this.view();
    // A pooled buffer not longer than the room goes whole: no view of its first `length` bytes.
    if (src.length <= STAGE_BYTES) heap.set(src, this.at + SPAN_BYTES);
    else heap.set(src.subarray(0, length), this.at + SPAN_BYTES);
    this.staged = src;
    this.stagedLength = length;
    return true;
  }

  unstage(): void {
    this.staged = null;
    this.stagedLength = 0;
  }

  /** Whether src[.., end) is staged. */
  holds(src: Uint8Array, end: number): boolean {
    return this.staged === src && end <= this.stagedLength;
  }

  /** Hashes staged[start, end), as update(staged, start, end) would. */
  updateStaged(start: number, end: number): void {
    const heap = this.view();
    const at = this.at;
    const base = at + SPAN_BYTES;
    for (let s = start; s < end; ) {
      const n = Math.min(SPAN_BYTES, end - s);
      heap.copyWithin(at, base + s, base + s + n);
      this.exports.Hash_Update(n);
      s += n;
    }
  }

  /** Hashes src[start, end), in buffer-sized pieces. */
  update(src: Uint8Array, start: number, end: number): void {
    const heap = this.view();
    const at = this.at;
    if (end - start > SPAN_BYTES) this.unstage();
    for (let s = start; s < end; ) {
      const n = Math.min(BUFFER_BYTES, end - s);
      // set() would need a subarray view (an allocation, ~96 B) to copy part of src: short spans
      // go by bytes, mid-sized ones by words read through a view of src's buffer kept across calls.
      if (n <= 64) for (let i = 0; i < n; i++) heap[at + i] = src[s + i] as number;
      else if (n <= WORD_COPY_MAX && this.sourceView(src)) this.copyWords(src.byteOffset + s, n);
      else heap.set(src.subarray(s, s + n), at);
      this.exports.Hash_Update(n);
      s += n;
    }
  }

  /**
   * Whether `src` can be read through the kept DataView (made anew when src lies in another
   * buffer). Only buffers up to the pools' largest kept size: the view keeps its buffer alive
   * until the next one, which must not pin a one-off giant body.
   */
  private sourceView(src: Uint8Array): boolean {
    const b = src.buffer;
    if (b === this.srcBuffer) return true;
    if (b.byteLength > SOURCE_VIEW_MAX) return false;
    this.srcBuffer = b;
    this.src = new DataView(b);
    return true;
  }

  /** Copies n bytes at byte offset `from` of the kept source buffer into the I/O buffer, four at a time. */
  private copyWords(from: number, n: number): void {
    const src = this.src;
    const heap32 = this.heap32;
    const at32 = this.at >> 2;
    const words = n >> 2;
    for (let k = 0; k < words; k++) heap32[at32 + k] = src.getInt32(from + 4 * k, true);
    const heap = this.heap;
    for (let k = words << 2; k < n; k++) heap[this.at + k] = src.getUint8(from + k);
  }

  /** Hashes the bytes of ids[start, end) as they lie in memory (little-endian int32s). */
  updateInts(ids: Int32Array, start: number, end: number): void {
    this.view();
    if (4 * (end - start) > SPAN_BYTES) this.unstage();
    const heap32 = this.heap32;
    const at32 = this.at >> 2;
    const per = BUFFER_BYTES >> 2;
    for (let s = start; s < end; ) {
      const n = Math.min(per, end - s);
      for (let i = 0; i < n; i++) heap32[at32 + i] = ids[s + i] as number;
      this.exports.Hash_Update(4 * n);
      s += n;
    }
  }

  /** Ends the hash: its 16-byte digest into dst[dstAt, dstAt + 16). */
  final16(dst: Uint8Array, dstAt: number): void {
    this.exports.Hash_Final(16);
    const heap = this.view();
    const at = this.at;
    for (let i = 0; i < 16; i++) dst[dstAt + i] = heap[at + i] as number;
  }

  /** Ends the hash: its 16-byte digest as four little-endian int32 lanes into out[at, at + 4). */
  finalLanes(out: Int32Array, outAt: number): void {
    this.exports.Hash_Final(16);
    const h = this.view();
    const a = this.at;
    for (let k = 0; k < 4; k++) {
      const o = a + 4 * k;
      out[outAt + k] = (h[o] as number) | ((h[o + 1] as number) << 8) | ((h[o + 2] as number) << 16) | ((h[o + 3] as number) << 24);
    }
  }
}
