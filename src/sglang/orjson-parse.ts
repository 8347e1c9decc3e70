/**
 * The JSON parser SGLang 0.5.23 runs on request bodies: orjson (yyjson inside), installed as
 * `ORJSONRequest.json` in srt/entrypoints/http_server.py:471-481. Its values and its errors
 * differ from JSON.parse's and from Python's json module, and FastAPI puts the error's text and
 * character position into the 400 message, so scorecar reproduces both here.
 *
 * Written by hand because no JS parser reports yyjson's messages and positions; it runs only on
 * bodies the byte scanner does not take (errors, lax forms), never on the fast path. Held to
 * vectors produced by the real orjson (test/fixtures/sglang-0.5.23/orjson-vectors.json).
 *
 * Values: null, booleans, strings, arrays, objects as Maps (last duplicate key wins, in the
 * position of its first occurrence, as in a Python dict),
 * integers as numbers (bigint outside the safe range, up to orjson's int range of
 * [-2^63, 2^64-1]), and floats (any number written with a fraction or exponent, or an integer
 * outside that range) as PyFloat, because pydantic treats 1 and 1.0 differently.
 */

export class PyFloat {
  constructor(readonly value: number) {}
}

export type PyValue = null | boolean | number | bigint | string | PyFloat | PyValue[] | PyDict;
/** A dict keeps Python's key order (insertion order, even for integer-like keys). */
export type PyDict = Map<string, PyValue>;

export type OrjsonResult = { ok: true; value: PyValue } | { ok: false; pos: number; msg: string };

/** yyjson's container depth limit as orjson builds it: the 1025th nested container fails. */
const MAX_DEPTH = 1024;
const I64_MIN = -(2n ** 63n);
const U64_MAX = 2n ** 64n - 1n;

class Fail {
  constructor(
    readonly byte: number,
    readonly msg: string,
  ) {}
}

const fatalUtf8 = new TextDecoder('utf-8', { fatal: true });
const utf8 = new TextDecoder('utf-8');

/** Character (code point) index of a byte offset in valid UTF-8: what Python reports. */
function charPos(b: Uint8Array, byte: number): number {
  let n = 0;
  const end = Math.min(byte, b.length);
  for (let i = 0; i < end; i++) if (((b[i] as number) & 0xc0) !== 0x80) n++;
  return n;
}

function isWs(c: number | undefined): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

function hex4(b: Uint8Array, p: number): number {
  let v = 0;
  for (let i = 0; i < 4; i++) {
    const c = b[p + i];
    let d: number;
    if (c === undefined) return -2;
    if (c >= 0x30 && c <= 0x39) d = c - 0x30;
    else if (c >= 0x61 && c <= 0x66) d = c - 0x57;
    else if (c >= 0x41 && c <= 0x46) d = c - 0x37;
    else return -1;
    v = v * 16 + d;
  }
  return v;
}

/** Thrown when a body holds more values than the caller allows (memory bound, not orjson's). */
export class TooManyValues extends Error {}

class Parser {
  p = 0;
  private budget: number;
  constructor(
    private readonly b: Uint8Array,
    maxValues: number,
  ) {
    this.budget = maxValues;
  }

  ws(): void {
    while (isWs(this.b[this.p])) this.p++;
  }

  eof(): Fail {
    return new Fail(this.b.length, 'unexpected end of data');
  }

  value(depth: number): PyValue {
    if (--this.budget < 0) throw new TooManyValues();
    const b = this.b;
    const c = b[this.p];
    if (c === undefined) throw this.eof();
    if (c === 0x7b) return this.object(depth + 1);
    if (c === 0x5b) return this.array(depth + 1);
    if (c === 0x22) return this.string();
    if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return this.number();
    if (c === 0x74) return this.literal('true', true);
    if (c === 0x66) return this.literal('false', false);
    if (c === 0x6e) return this.literal('null', null);
    // yyjson reads '+' and '.' as the start of a number that lacks its digits.
    if (c === 0x2b || c === 0x2e) throw new Fail(this.p, 'no digit after sign');
    throw new Fail(this.p, 'unexpected character, expected a JSON value');
  }

  literal(word: string, v: PyValue): PyValue {
    const start = this.p;
    for (let i = 0; i < word.length; i++) {
      const c = this.b[start + i];
      if (c === undefined) throw this.eof();
      if (c !== word.charCodeAt(i)) throw new Fail(start, `invalid literal, expected '${word}'`);
    }
    this.p = start + word.length;
    return v;
  }

  number(): PyValue {
    const b = this.b;
    const start = this.p;
    let p = start;
    if (b[p] === 0x2d) {
      p++;
      const d = b[p];
      if (d === undefined || d < 0x30 || d > 0x39) throw d === undefined ? this.eof() : new Fail(p, 'no digit after sign');
    }
    if (b[p] === 0x30) {
      const d = b[p + 1];
      if (d !== undefined && d >= 0x30 && d <= 0x39) throw new Fail(p, 'number with leading zero is not allowed');
      p++;
    } else {
      while ((b[p] ?? 0) >= 0x30 && (b[p] ?? 0) <= 0x39) p++;
    }
    let float = false;
    if (b[p] === 0x2e) {
      float = true;
      p++;
      const d = b[p];
      if (d === undefined || d < 0x30 || d > 0x39) throw d === undefined ? this.eof() : new Fail(p, 'no digit after decimal point');
      while ((b[p] ?? 0) >= 0x30 && (b[p] ?? 0) <= 0x39) p++;
    }
    if (b[p] === 0x65 || b[p] === 0x45) {
      float = true;
      p++;
      if (b[p] === 0x2b || b[p] === 0x2d) p++;
      const d = b[p];
      if (d === undefined || d < 0x30 || d > 0x39) throw d === undefined ? this.eof() : new Fail(p, 'no digit after exponent sign');
      while ((b[p] ?? 0) >= 0x30 && (b[p] ?? 0) <= 0x39) p++;
    }
    const text = utf8.decode(b.subarray(start, p));
    this.p = p;
    if (!float) {
      const n = Number(text);
      if (Number.isSafeInteger(n)) return n === 0 ? 0 : n; // -0 is the int 0
      const big = BigInt(text);
      if (big >= I64_MIN && big <= U64_MAX) return big;
    }
    const f = Number(text);
    if (!Number.isFinite(f)) throw new Fail(start, 'number is infinity when parsed as double');
    return new PyFloat(f);
  }

  string(): string {
    const b = this.b;
    const start = ++this.p;
    let p = start;
    // Fast scan: no escapes.
    for (;;) {
      const c = b[p];
      if (c === undefined) throw this.eof();
      if (c === 0x22) {
        this.p = p + 1;
        return utf8.decode(b.subarray(start, p));
      }
      if (c === 0x5c) break;
      if (c < 0x20) throw new Fail(p, 'unexpected control character in string');
      p++;
    }
    let out = utf8.decode(b.subarray(start, p));
    let run = p;
    for (;;) {
      const c = b[p];
      if (c === undefined) throw this.eof();
      if (c === 0x22) {
        out += utf8.decode(b.subarray(run, p));
        this.p = p + 1;
        return out;
      }
      if (c < 0x20) throw new Fail(p, 'unexpected control character in string');
      if (c !== 0x5c) {
        p++;
        continue;
      }
      out += utf8.decode(b.subarray(run, p));
      const esc = b[p + 1];
      if (esc === undefined) throw this.eof();
      switch (esc) {
        case 0x22: out += '"'; p += 2; break;
        case 0x5c: out += '\\'; p += 2; break;
        case 0x2f: out += '/'; p += 2; break;
        case 0x62: out += '\b'; p += 2; break;
        case 0x66: out += '\f'; p += 2; break;
        case 0x6e: out += '\n'; p += 2; break;
        case 0x72: out += '\r'; p += 2; break;
        case 0x74: out += '\t'; p += 2; break;
        case 0x75: {
          const u = hex4(b, p + 2);
          if (u === -2) throw this.eof();
          if (u < 0) throw new Fail(p, 'invalid escaped sequence in string');
          if (u >= 0xdc00 && u <= 0xdfff) throw new Fail(p, 'invalid high surrogate in string');
          if (u >= 0xd800 && u <= 0xdbff) {
            if (b[p + 6] !== 0x5c || b[p + 7] !== 0x75) {
              if (b[p + 6] === undefined || (b[p + 6] === 0x5c && b[p + 7] === undefined)) throw this.eof();
              throw new Fail(p, 'no low surrogate in string');
            }
            const lo = hex4(b, p + 8);
            if (lo === -2) throw this.eof();
            if (lo < 0) throw new Fail(p, 'invalid escape in string');
            if (lo < 0xdc00 || lo > 0xdfff) throw new Fail(p, 'invalid low surrogate in string');
            out += String.fromCharCode(u, lo);
            p += 12;
          } else {
            out += String.fromCharCode(u);
            p += 6;
          }
          break;
        }
        default:
          throw new Fail(p, 'invalid escaped sequence in string');
      }
      run = p;
    }
  }

  array(depth: number): PyValue[] {
    if (depth > MAX_DEPTH) throw new Fail(this.p + 1, 'depth limit exceeded');
    const out: PyValue[] = [];
    this.p++;
    this.ws();
    if (this.b[this.p] === 0x5d) {
      this.p++;
      return out;
    }
    for (;;) {
      out.push(this.value(depth));
      this.ws();
      const c = this.b[this.p];
      if (c === 0x5d) {
        this.p++;
        return out;
      }
      if (c === undefined) throw this.eof();
      if (c !== 0x2c) throw new Fail(this.p, "unexpected character, expected ',' or ']'");
      const comma = this.p++;
      this.ws();
      if (this.b[this.p] === 0x5d) throw new Fail(comma, 'trailing comma is not allowed');
    }
  }

  object(depth: number): PyDict {
    if (depth > MAX_DEPTH) throw new Fail(this.p + 1, 'depth limit exceeded');
    const out: PyDict = new Map();
    this.p++;
    this.ws();
    if (this.b[this.p] === 0x7d) {
      this.p++;
      return out;
    }
    for (;;) {
      const k = this.b[this.p];
      if (k === undefined) throw this.eof();
      if (k !== 0x22) throw new Fail(this.p, 'unexpected character, expected a string key');
      const key = this.string();
      this.ws();
      const colon = this.b[this.p];
      if (colon === undefined) throw this.eof();
      if (colon !== 0x3a) throw new Fail(this.p, "unexpected character, expected ':' after key");
      this.p++;
      this.ws();
      out.set(key, this.value(depth));
      this.ws();
      const c = this.b[this.p];
      if (c === 0x7d) {
        this.p++;
        return out;
      }
      if (c === undefined) throw this.eof();
      if (c !== 0x2c) throw new Fail(this.p, "unexpected character, expected ',' or '}'");
      const comma = this.p++;
      this.ws();
      if (this.b[this.p] === 0x7d) throw new Fail(comma, 'trailing comma is not allowed');
    }
  }
}

/**
 * orjson.loads(bytes): the value, or the error orjson raises with its character position.
 * `maxValues` bounds the values built (TooManyValues past it), so memory stays bounded.
 */
export function orjsonParse(b: Uint8Array, maxValues = Infinity): OrjsonResult {
  if (b.length === 0) return { ok: false, pos: 0, msg: 'Input is a zero-length, empty document' };
  try {
    fatalUtf8.decode(b);
  } catch {
    return { ok: false, pos: 0, msg: 'str is not valid UTF-8: surrogates not allowed' };
  }
  if (b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) {
    return { ok: false, pos: 0, msg: 'UTF-8 byte order mark (BOM) is not supported' };
  }
  const parser = new Parser(b, maxValues);
  try {
    parser.ws();
    if (parser.p >= b.length) return { ok: false, pos: 0, msg: 'input data is empty' };
    const value = parser.value(0);
    parser.ws();
    if (parser.p < b.length) return { ok: false, pos: charPos(b, parser.p), msg: 'unexpected content after document' };
    return { ok: true, value };
  } catch (e) {
    if (e instanceof Fail) return { ok: false, pos: charPos(b, e.byte), msg: e.msg };
    throw e;
  }
}

/** A parsed value as plain JS (objects, numbers), for routes that do not need Python's types. */
export function toJs(v: PyValue | undefined): unknown {
  if (v === undefined || v === null || typeof v !== 'object') return typeof v === 'bigint' ? Number(v) : v;
  if (v instanceof PyFloat) return v.value;
  if (Array.isArray(v)) return v.map(toJs);
  const o = Object.create(null) as Record<string, unknown>;
  for (const [k, x] of v) Object.defineProperty(o, k, { value: toJs(x), enumerable: true, writable: true, configurable: true });
  return o;
}
