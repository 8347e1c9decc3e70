import { type BufferPool, bufferPool } from './buffer-pool.js';

/**
 * Writes JSON bytes straight into a pooled Buffer: token ids go from Int32Arrays to ASCII and
 * fragments are copied as bytes, so request and response bodies never pass through
 * JSON.stringify or intermediate strings.
 */
export class ByteWriter {
  buf: Buffer;
  pos = 0;

  constructor(
    initialSize = 16384,
    private readonly pool: BufferPool = bufferPool,
  ) {
    this.buf = pool.acquire(initialSize);
  }

  reset(): void {
    this.pos = 0;
  }

  ensure(extra: number): void {
    const need = this.pos + extra;
    if (need <= this.buf.length) return;
    const next = this.pool.acquire(Math.max(need, this.buf.length * 2));
    this.buf.copy(next, 0, 0, this.pos);
    this.pool.release(this.buf);
    this.buf = next;
  }

  /** Copies a constant fragment (pre-encoded once with lit()). */
  raw(fragment: Uint8Array): void {
    const n = fragment.length;
    this.ensure(n);
    const b = this.buf;
    let p = this.pos;
    if (n < 512) {
      for (let i = 0; i < n; i++) b[p++] = fragment[i] as number;
    } else {
      b.set(fragment, p);
      p += n;
    }
    this.pos = p;
  }

  /**
   * Copies src[start, end). Node's Buffer.copy makes a view object per call, so spans up to a
   * few hundred bytes (score rows, model names) are copied by a plain loop instead.
   */
  bytes(src: Buffer, start: number, end: number): void {
    const n = end - start;
    this.ensure(n);
    if (n < 512) {
      const b = this.buf;
      let p = this.pos;
      for (let i = start; i < end; i++) b[p++] = src[i] as number;
      this.pos = p;
    } else {
      src.copy(this.buf, this.pos, start, end);
      this.pos += n;
    }
  }

  byte(c: number): void {
    this.ensure(1);
    this.buf[this.pos++] = c;
  }

  int(v: number): void {
    this.ensure(11);
    const b = this.buf;
    let p = this.pos;
    if (v < 0) {
      b[p++] = 45; // '-'
      v = -v;
    }
    let digits = 1;
    for (let t = v; t >= 10; t = (t / 10) | 0) digits++;
    let q = p + digits;
    this.pos = q;
    do {
      const d = v % 10;
      b[--q] = 48 + d;
      v = (v - d) / 10;
    } while (v > 0);
  }

  /** ids[off .. off+len) as comma-separated ASCII (no brackets). */
  ints(ids: Int32Array, off: number, len: number): void {
    if (len === 0) return;
    this.ensure(len * 12);
    const b = this.buf;
    let p = this.pos;
    const end = off + len;
    for (let i = off; i < end; i++) {
      if (i !== off) b[p++] = 44; // ','
      let v = ids[i] as number;
      if (v < 0) {
        b[p++] = 45;
        v = -v;
      }
      if (v < 10) {
        b[p++] = 48 + v;
        continue;
      }
      let digits = 2;
      for (let t = (v / 100) | 0; t > 0; t = (t / 10) | 0) digits++;
      let q = p + digits;
      p = q;
      do {
        const d = v % 10;
        b[--q] = 48 + d;
        v = (v - d) / 10;
      } while (v > 0);
    }
    this.pos = p;
  }

  /** A finite number in JSON form; integers take the fast path. */
  number(x: number): void {
    if (Number.isInteger(x) && Math.abs(x) < 2147483648) this.int(x);
    else this.ascii(JSON.stringify(x));
  }

  /** An ASCII-only string (caller guarantees it). */
  ascii(s: string): void {
    this.ensure(s.length);
    this.pos += this.buf.write(s, this.pos, 'latin1');
  }

  /** Any string as a JSON string literal, quotes included. */
  jsonString(s: string): void {
    const enc = JSON.stringify(s);
    const n = Buffer.byteLength(enc);
    this.ensure(n);
    this.pos += this.buf.write(enc, this.pos, 'utf8');
  }

  /** The written bytes (a view; valid until the writer is reused or released). */
  view(): Buffer {
    return this.buf.subarray(0, this.pos);
  }

  release(): void {
    this.pool.release(this.buf);
    this.buf = EMPTY;
    this.pos = 0;
  }

  /** Re-arms a released writer. */
  rearm(initialSize: number): void {
    if (this.buf === EMPTY) this.buf = this.pool.acquire(initialSize);
    this.pos = 0;
  }
}

const EMPTY = Buffer.alloc(0);

/** Pre-encodes a constant JSON fragment. */
export function lit(s: string): Buffer {
  return Buffer.from(s, 'utf8');
}
