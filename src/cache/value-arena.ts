import { copyBytes } from '../mem/copy-bytes.js';

/** Values are carved out of slabs this big. */
export const SLAB_BYTES = 64 * 1024;
/** Values above this get a buffer of their own: one would waste too much of a slab's tail. */
const LARGE_VALUE_BYTES = 4 * 1024;
const EMPTY = Buffer.alloc(0);

/** Values up to this long are copied byte by byte, which costs less than a call into node; longer ones by copyBytes (no view). */
const LOOP_COPY_BYTES = 128;

/**
 * Owns the bytes of cached values. An entry names its bytes by (buffer, offset, length) in the
 * entry table's columns, not by a Buffer of its own: a Buffer per value costs ~370 bytes of heap
 * and malloc for a 40-byte score row, and even a view into a shared slab ~100, per entry stored.
 * Node's own Buffer pool would be as cheap but lets one long-lived hot entry pin an 8 KiB slab of
 * dead neighbours invisibly. Here slabs are bump-allocated and never rewritten, so bytes handed
 * to a caller stay valid (and unchanged) even after their entry is evicted; a slab is dropped when
 * its last value is released, and compaction (driven by the owner, on the store path) moves the
 * survivors of mostly-dead slabs so slab bytes stay within about twice the live bytes.
 */
export class ValueArena {
  /** Slab of the value copyIn stored last; -1 for values that own their buffer. */
  lastSlab = -1;
  /** Where in the returned buffer the value copyIn stored last begins. */
  lastOff = 0;
  liveBytes = 0;
  slabBytes = 0;
  private slabs: Array<Buffer | null> = [];
  private live: number[] = [];
  private marked = new Uint8Array(0);
  private current = -1;
  private used = SLAB_BYTES;

  /** Copies src[start, end) into the arena; returns the buffer that holds it, at lastOff, in slab lastSlab. */
  copyIn(src: Uint8Array, start: number, end: number): Buffer {
    const len = end - start;
    this.lastOff = 0;
    if (len <= 0 || len > LARGE_VALUE_BYTES) {
      this.lastSlab = -1;
      if (len <= 0) return EMPTY;
      const own = Buffer.allocUnsafeSlow(len);
      copyBytes(src, start, end, own, 0);
      return own;
    }
    if (this.used + len > SLAB_BYTES) this.openSlab();
    const slab = this.slabs[this.current] as Buffer;
    const at = this.used;
    if (len <= LOOP_COPY_BYTES) for (let k = 0; k < len; k++) slab[at + k] = src[start + k] as number;
    else copyBytes(src, start, end, slab, at);
    this.used += len;
    this.live[this.current] = (this.live[this.current] as number) + len;
    this.liveBytes += len;
    this.lastSlab = this.current;
    this.lastOff = at;
    return slab;
  }

  /** Gives back `len` bytes of `slab` (from copyIn's lastSlab). Never allocates: lookups call it for expired entries. */
  release(slab: number, len: number): void {
    if (slab < 0) return;
    const left = (this.live[slab] as number) - len;
    this.live[slab] = left;
    this.liveBytes -= len;
    if (left === 0 && slab !== this.current) this.drop(slab);
  }

  /** Whether dead bytes exceed live bytes by enough that compacting pays. */
  wasteful(): boolean {
    return this.slabBytes - this.liveBytes > this.liveBytes + 2 * SLAB_BYTES;
  }

  /** Marks the slabs worth emptying (under half live); returns whether any was marked. */
  markSparse(): boolean {
    if (this.marked.length < this.slabs.length) this.marked = new Uint8Array(this.slabs.length * 2);
    let any = false;
    for (let s = 0; s < this.slabs.length; s++) {
      const sparse = this.slabs[s] !== null && s !== this.current && (this.live[s] as number) * 2 < SLAB_BYTES;
      this.marked[s] = sparse ? 1 : 0;
      if (sparse) any = true;
    }
    return any;
  }

  isMarked(slab: number): boolean {
    return slab >= 0 && this.marked[slab] === 1;
  }

  clear(): void {
    this.slabs = [];
    this.live = [];
    this.marked = new Uint8Array(0);
    this.current = -1;
    this.used = SLAB_BYTES;
    this.liveBytes = 0;
    this.slabBytes = 0;
    this.lastSlab = -1;
  }

  private openSlab(): void {
    const prev = this.current;
    let id = this.slabs.indexOf(null);
    if (id < 0) {
      id = this.slabs.length;
      this.slabs.push(null);
      this.live.push(0);
    }
    this.slabs[id] = Buffer.allocUnsafeSlow(SLAB_BYTES);
    this.live[id] = 0;
    if (id < this.marked.length) this.marked[id] = 0;
    this.slabBytes += SLAB_BYTES;
    this.current = id;
    this.used = 0;
    // The slab we leave may already be all dead; release() skipped it while it was current.
    if (prev >= 0 && this.live[prev] === 0) this.drop(prev);
  }

  private drop(slab: number): void {
    if (this.slabs[slab] === null) return;
    this.slabs[slab] = null;
    this.slabBytes -= SLAB_BYTES;
  }
}
