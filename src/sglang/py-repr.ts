import { PyFloat, type PyValue } from './orjson-parse.js';

/**
 * Python's repr() of the values orjson produces, as pydantic and FastAPI print them inside
 * SGLang's validation messages (`'input': ...`, `'ctx': {...}`). Recursion is bounded by the
 * parser's depth limit (1,024), so client-controlled depth cannot exhaust the stack.
 */

/** float.__repr__: shortest round-trip digits, scientific below 1e-4 and from 1e16. */
export function pyFloatRepr(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const [mant, expPart] = x.toExponential().split('e') as [string, string];
  const exp = Number(expPart);
  const neg = mant.startsWith('-');
  const digits = mant.replace('-', '').replace('.', '');
  const sign = neg ? '-' : '';
  if (exp < -4 || exp >= 16) {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    const e = Math.abs(exp);
    return `${sign}${m}e${exp < 0 ? '-' : '+'}${e < 10 ? '0' : ''}${e}`;
  }
  if (exp < 0) return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`;
  if (digits.length <= exp + 1) return `${sign}${digits}${'0'.repeat(exp + 1 - digits.length)}.0`;
  return `${sign}${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`;
}

// str.isprintable() is false for these categories (the space itself is printable).
const NON_PRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]/u;

/** str.__repr__: single quotes unless the text has ' and no ", escapes for the unprintable. */
export function pyStrRepr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of s) {
    const cp = ch.codePointAt(0) as number;
    if (ch === quote || ch === '\\') out += '\\' + ch;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch !== ' ' && NON_PRINTABLE.test(ch)) {
      if (cp < 0x100) out += '\\x' + cp.toString(16).padStart(2, '0');
      else if (cp < 0x10000) out += '\\u' + cp.toString(16).padStart(4, '0');
      else out += '\\U' + cp.toString(16).padStart(8, '0');
    } else out += ch;
  }
  return out + quote;
}

/** Thrown inside a bounded repr when its budget is spent; the caller keeps what was written. */
class ReprFull extends Error {}

/**
 * repr() of a value, cut after about `budget` characters (a hostile body's inputs can hold
 * millions): the work and the memory stop with the output, not after it.
 */
export function pyRepr(v: PyValue | undefined, budget = Infinity): string {
  const out: string[] = [];
  let size = 0;
  const put = (s: string): void => {
    out.push(s);
    size += s.length;
    if (size > budget) throw new ReprFull();
  };
  const walk = (x: PyValue | undefined): void => {
    if (x === null || x === undefined) return put('None');
    if (x === true) return put('True');
    if (x === false) return put('False');
    if (typeof x === 'number' || typeof x === 'bigint') return put(String(x));
    if (typeof x === 'string') return put(pyStrRepr(x.length > budget ? x.slice(0, budget + 1) : x));
    if (x instanceof PyFloat) return put(pyFloatRepr(x.value));
    if (Array.isArray(x)) {
      put('[');
      for (let i = 0; i < x.length; i++) {
        if (i > 0) put(', ');
        walk(x[i]);
      }
      return put(']');
    }
    put('{');
    let first = true;
    for (const [k, y] of x) {
      if (!first) put(', ');
      first = false;
      put(pyStrRepr(k));
      put(': ');
      walk(y);
    }
    put('}');
  };
  try {
    walk(v);
  } catch (e) {
    if (!(e instanceof ReprFull)) throw e;
  }
  const s = out.join('');
  return s.length > budget ? s.slice(0, budget) : s;
}

/** A tuple's repr: ('body',) keeps its trailing comma. */
export function pyTupleRepr(items: readonly (string | number)[]): string {
  const parts = items.map((x) => (typeof x === 'number' ? String(x) : pyStrRepr(x)));
  return parts.length === 1 ? `(${parts[0]},)` : `(${parts.join(', ')})`;
}
