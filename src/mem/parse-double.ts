/**
 * Decimal text -> double without making a string, for score rows read from SGLang's JSON.
 * Clinger's fast path is exact: a decimal mantissa below 2^53 scaled by a power of ten up to
 * 10^22 is one correctly rounded IEEE multiplication or division. Scores printed as shortest
 * round-trip decimals (Python repr, JS) almost always fit; the rest fall back to Number().
 */
const POW10 = Array.from({ length: 23 }, (_, i) => 10 ** i);

export function parseDouble(b: Uint8Array, start: number, end: number): number {
  let p = start;
  let neg = false;
  if (b[p] === 0x2d) {
    neg = true;
    p++;
  }
  let mantissa = 0;
  let digits = 0;
  let exp = 0;
  let c = b[p] as number;
  while (p < end && c >= 0x30 && c <= 0x39) {
    if (digits > 0 || c !== 0x30) digits++;
    mantissa = mantissa * 10 + (c - 0x30);
    c = b[++p] as number;
  }
  if (c === 0x2e) {
    c = b[++p] as number;
    while (p < end && c >= 0x30 && c <= 0x39) {
      if (digits > 0 || c !== 0x30) digits++;
      mantissa = mantissa * 10 + (c - 0x30);
      exp--;
      c = b[++p] as number;
    }
  }
  if (p < end && (c === 0x65 || c === 0x45)) {
    c = b[++p] as number;
    let eneg = false;
    if (c === 0x2d || c === 0x2b) {
      eneg = c === 0x2d;
      c = b[++p] as number;
    }
    let e = 0;
    while (p < end && c >= 0x30 && c <= 0x39) {
      e = e * 10 + (c - 0x30);
      c = b[++p] as number;
    }
    exp += eneg ? -e : e;
  }
  if (p === end && digits <= 16 && mantissa <= 9007199254740991 && exp >= -22 && exp <= 22) {
    const v = exp < 0 ? mantissa / (POW10[-exp] as number) : mantissa * (POW10[exp] as number);
    return neg ? -v : v;
  }
  // Rare: more digits than a double holds exactly, a large exponent, or not a number at all.
  let s = '';
  for (let i = start; i < end; i++) s += String.fromCharCode(b[i] as number);
  return s === 'null' ? Number.NaN : Number(s);
}

/**
 * Reads the numbers of one score row (`[a, b, ...]` bytes) into out[offset...]; returns how many
 * it read. `null` (SGLang's NaN) reads as NaN.
 */
export function parseRow(b: Uint8Array, start: number, end: number, out: Float64Array, offset: number): number {
  let p = start + 1; // past '['
  let k = 0;
  while (p < end) {
    while (p < end && (b[p] === 0x20 || b[p] === 0x2c || b[p] === 0x0a || b[p] === 0x0d || b[p] === 0x09)) p++;
    if (b[p] === 0x5d || p >= end) break;
    let q = p;
    while (q < end && b[q] !== 0x2c && b[q] !== 0x5d && b[q] !== 0x20) q++;
    out[offset + k++] = parseDouble(b, p, q);
    p = q;
  }
  return k;
}
