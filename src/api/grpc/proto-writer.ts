/**
 * Protobuf wire format written straight into one growable Buffer. The generated encoders
 * (protobufjs Writer) queue one operation object per value written, i.e. per score; response
 * messages written here cost a constant number of objects however many items they carry. Field
 * order and encodings follow the generated code, and tests decode every response written here
 * with the generated decoders.
 */
const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LEN = 2;

/** Whether Float64Array bytes are already protobuf's little-endian doubles. */
const LITTLE_ENDIAN = new Uint8Array(new Float64Array([1]).buffer)[7] === 0x3f;

export function varintSize(v: number): number {
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5;
}

export class ProtoWriter {
  buf: Buffer;
  pos = 0;

  constructor(initialSize = 4096) {
    this.buf = Buffer.allocUnsafe(initialSize);
  }

  reset(): void {
    this.pos = 0;
  }

  ensure(extra: number): void {
    const need = this.pos + extra;
    if (need <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(need, this.buf.length * 2));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** An unsigned 32-bit varint. */
  varint(v: number): void {
    this.ensure(5);
    const b = this.buf;
    let p = this.pos;
    let x = v >>> 0;
    while (x >= 0x80) {
      b[p++] = (x & 0x7f) | 0x80;
      x >>>= 7;
    }
    b[p++] = x;
    this.pos = p;
  }

  tag(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }

  /** A uint32 field; zero is left out, as proto3 writers do. */
  uint32(field: number, v: number): void {
    if (v === 0) return;
    this.tag(field, WIRE_VARINT);
    this.varint(v);
  }

  /** An int32 field: negative values take ten bytes (sign-extended to 64 bits). */
  int32(field: number, v: number): void {
    if (v === 0) return;
    if (v >= 0) return this.uint32(field, v);
    this.tag(field, WIRE_VARINT);
    this.ensure(10);
    const b = this.buf;
    let lo = v >>> 0;
    for (let i = 0; i < 4; i++) {
      b[this.pos++] = (lo & 0x7f) | 0x80;
      lo >>>= 7;
    }
    // Bits 28..31 of the value, then the sign extension of bits 32..63.
    b[this.pos++] = (lo & 0x0f) | 0xf0;
    for (let i = 0; i < 4; i++) b[this.pos++] = 0xff;
    b[this.pos++] = 0x01;
  }

  bool(field: number, v: boolean): void {
    if (!v) return;
    this.tag(field, WIRE_VARINT);
    this.varint(1);
  }

  double(field: number, v: number): void {
    this.tag(field, WIRE_FIXED64);
    this.ensure(8);
    this.buf.writeDoubleLE(v, this.pos);
    this.pos += 8;
  }

  /** A string field (always written, even when empty, so presence survives inside oneofs). */
  string(field: number, s: string): void {
    const n = Buffer.byteLength(s);
    this.tag(field, WIRE_LEN);
    this.varint(n);
    this.ensure(n);
    this.pos += this.buf.write(s, this.pos, 'utf8');
  }

  /** A packed repeated double from values[0..count); nothing when count is 0. */
  packedDoubles(field: number, values: Float64Array, count: number): void {
    if (count === 0) return;
    const n = count * 8;
    this.tag(field, WIRE_LEN);
    this.varint(n);
    this.ensure(n);
    if (LITTLE_ENDIAN) {
      this.buf.set(new Uint8Array(values.buffer, values.byteOffset, n), this.pos);
      this.pos += n;
    } else {
      for (let i = 0; i < count; i++, this.pos += 8) this.buf.writeDoubleLE(values[i] as number, this.pos);
    }
  }

  /**
   * Opens an embedded message on `field`; returns a mark for end(). One byte is reserved for the
   * length, which covers messages under 128 bytes; longer ones are moved up once at the end.
   */
  begin(field: number): number {
    this.tag(field, WIRE_LEN);
    this.ensure(1);
    return this.pos++;
  }

  end(mark: number): void {
    const len = this.pos - mark - 1;
    const extra = varintSize(len) - 1;
    if (extra > 0) {
      this.ensure(extra);
      this.buf.copyWithin(mark + 1 + extra, mark + 1, this.pos);
      this.pos += extra;
    }
    let p = mark;
    let x = len;
    while (x >= 0x80) {
      this.buf[p++] = (x & 0x7f) | 0x80;
      x >>>= 7;
    }
    this.buf[p] = x;
  }

  /** The bytes written, copied out: grpc-js frames them later, after this writer is reused. */
  take(): Buffer {
    const out = Buffer.allocUnsafe(this.pos);
    this.buf.copy(out, 0, 0, this.pos);
    return out;
  }
}
