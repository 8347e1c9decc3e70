import { type BufferPool, bufferPool } from './buffer-pool.js';
import { copyBytes } from './copy-bytes.js';

/** ASCII of "00".."99": two digits per division, which printed 1,700 ids in 12 µs instead of 29 (A/B loop). */
const PAIRS = new Uint8Array(200);
for (let i = 0; i < 100; i++) {
  PAIRS[2 * i] = 48 + ((i / 10) | 0);
  PAIRS[2 * i + 1] = 48 + (i % 10);
}

/** Decimal digits of a non-negative integer below 2^32. */
function digitCount(v: number): number {
  if (v < 100000) return v < 10 ? 1 : v < 100 ? 2 : v < 1000 ? 3 : v < 10000 ? 4 : 5;
  return v < 1000000 ? 6 : v < 10000000 ? 7 : v < 100000000 ? 8 : v < 1000000000 ? 9 : 10;
}

/** Writes an int32 at p in decimal ASCII; returns the index past it (the caller ensured 11 bytes). */
function writeInt(b: Buffer, p: number, v: number): number {
  if (v < 0) {
    b[p++] = 45; // '-'
    v = -v;
  }
  const end = p + digitCount(v);
  let q = end;
  while (v >= 100) {
    const r = v % 100;
    v = (v / 100) | 0; // v <= 2^31 here, so v / 100 fits an int32
    b[--q] = PAIRS[2 * r + 1] as number;
    b[--q] = PAIRS[2 * r] as number;
  }
  if (v >= 10) {
    b[--q] = PAIRS[2 * v + 1] as number;
    b[--q] = PAIRS[2 * v] as number;
  } else b[--q] = 48 + v;
  return end;
}

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
   * Copies src[start, end): short spans (score rows, model names) by a plain loop, which costs
   * less than a call into node; longer ones with copyBytes (no view object per span).
   */
  bytes(src: Buffer, start: number, end: number): void {
    const n = end - start;
    this.ensure(n);
    if (n < 64) {
      const b = this.buf;
      let p = this.pos;
      for (let i = start; i < end; i++) b[p++] = src[i] as number;
      this.pos = p;
    } else {
      copyBytes(src, start, end, this.buf, this.pos);
      this.pos += n;
    }
  }

  byte(c: number): void {
    this.ensure(1);
    this.buf[this.pos++] = c;
  }

  int(v: number): void {
    this.ensure(11);
    this.pos = writeInt(this.buf, this.pos, v);
  }

  /**
   * ids[off .. off+len) as comma-separated ASCII (no brackets). A whole array printed once
   * before (a token-cache entry's, see idText) is copied instead of printed again.
   */
  ints(ids: Int32Array, off: number, len: number): void {
    if (len === 0) return;
    if (len >= MIN_TEXT_IDS && off === 0 && len === ids.length) {
      const t = texts.get(ids);
      if (t !== undefined) {
        this.bytes(t, 0, t.length);
        return;
      }
    }
    this.ensure(len * 12);
    const b = this.buf;
    let p = writeInt(b, this.pos, ids[off] as number);
    const end = off + len;
    for (let i = off + 1; i < end; i++) {
      b[p++] = 44; // ','
      p = writeInt(b, p, ids[i] as number);
    }
    this.pos = p;
  }

  /**
   * x with three decimals: the digits of |x| * 1000 rounded, as fixed3Text spells them, without
   * a string (what toFixed(3) gives, but for ties its rounding of the binary value may differ).
   */
  fixed3(x: number): void {
    const a = Math.round(Math.abs(x) * 1000);
    if (!(a < 2147483648)) {
      this.ascii(fixed3Text(x));
      return;
    }
    this.ensure(16);
    const b = this.buf;
    let p = this.pos;
    if (x < 0) b[p++] = 45; // '-'
    p = writeInt(b, p, Math.floor(a / 1000));
    const f = a % 1000;
    b[p++] = 46; // '.'
    b[p++] = 48 + Math.floor(f / 100);
    b[p++] = 48 + (Math.floor(f / 10) % 10);
    b[p++] = 48 + (f % 10);
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

/**
 * Id arrays that live long and are written often (token-cache entries) with their ASCII form,
 * printed once: a warm text request wrote ~2,000 cached ids per request, 17.5 µs of printing
 * that a copy of the same bytes replaces. Weak: an entry goes with its ids array.
 */
const texts = new WeakMap<Int32Array, Buffer>();
/** Shorter arrays are printed as before (a lookup would cost about what printing them does). */
const MIN_TEXT_IDS = 8;

/**
 * Prints `ids` once ("1,2,3") for ByteWriter.ints to copy from then on, and returns the bytes
 * this keeps (the caller bounds them: the token caches count them in their byte budget).
 */
export function keepIdText(ids: Int32Array): number {
  if (ids.length < MIN_TEXT_IDS) return 0;
  let n = ids.length - 1;
  for (let i = 0; i < ids.length; i++) {
    const v = ids[i] as number;
    n += v < 0 ? 1 + digitCount(-v) : digitCount(v);
  }
  // A buffer of its own: a slice of Node's shared 8 KiB pool would keep the whole slab alive.
  const b = Buffer.allocUnsafeSlow(n);
  let p = writeInt(b, 0, ids[0] as number);
  for (let i = 1; i < ids.length; i++) {
    b[p++] = 44;
    p = writeInt(b, p, ids[i] as number);
  }
  texts.set(ids, b);
  return n;
}

/** Pre-encodes a constant JSON fragment. */
export function lit(s: string): Buffer {
  return Buffer.from(s, 'utf8');
}

/** x with three decimals as a string: the same digits ByteWriter.fixed3 writes. */
export function fixed3Text(x: number): string {
  const a = Math.round(Math.abs(x) * 1000);
  if (!(a < 2147483648)) return x.toFixed(3);
  return `${x < 0 ? '-' : ''}${Math.floor(a / 1000)}.${String(a % 1000).padStart(3, '0')}`;
}
