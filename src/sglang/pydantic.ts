import { PyFloat, type PyValue } from './orjson-parse.js';
import { pyRepr, pyStrRepr, pyTupleRepr } from './py-repr.js';

/**
 * The pydantic v2 (2.14, pinned with SGLang 0.5.23) validators that SGLang's request models
 * use, in lax python mode as FastAPI runs them on orjson's output, with pydantic's error types
 * and messages. Smart unions try every member strictly, then laxly, and report every member's
 * errors under its tag ('str', 'list[int]', ...).
 */

export type Loc = (string | number)[];

export interface PydanticError {
  type: string;
  loc: Loc;
  msg: string;
  input: PyValue | undefined;
  ctx?: string;
}

export type Errors = PydanticError[];

/** A failed validation; validators return this sentinel and push their errors. */
export const BAD: unique symbol = Symbol('bad');
export type Out<T> = T | typeof BAD;

const TRUE_STRINGS = new Set(['1', 'on', 't', 'true', 'y', 'yes']);
const FALSE_STRINGS = new Set(['0', 'off', 'f', 'false', 'n', 'no']);
const INT_STRING = /^[+-]?\d+$/;
const I64_MIN = -(2 ** 63);
const I64_MAX = 2 ** 63;

/**
 * Errors kept per validation. pydantic keeps all of them, but a hostile body can hold millions;
 * past this many the message (already cut at MAX_MESSAGE_CHARS) could not show them anyway.
 */
export const MAX_ERRORS = 1000;

export function err(errors: Errors, type: string, loc: Loc, msg: string, input: PyValue | undefined, ctx?: string): typeof BAD {
  if (errors.length < MAX_ERRORS) errors.push(ctx === undefined ? { type, loc, msg, input } : { type, loc, msg, input, ctx });
  return BAD;
}

/** An int as JS number; bigint where it exceeds 2^53 (kept exact for messages). */
export function int(v: PyValue, loc: Loc, errors: Errors, strict: boolean): Out<number | bigint> {
  if (typeof v === 'number' || typeof v === 'bigint') return v;
  if (typeof v === 'boolean') return strict ? err(errors, 'int_type', loc, 'Input should be a valid integer', v) : v ? 1 : 0;
  if (strict) return err(errors, 'int_type', loc, 'Input should be a valid integer', v);
  if (v instanceof PyFloat) {
    const f = v.value;
    if (!Number.isInteger(f)) return err(errors, 'int_from_float', loc, 'Input should be a valid integer, got a number with a fractional part', v);
    if (f < I64_MIN || f >= I64_MAX) {
      return err(errors, 'int_parsing_size', loc, 'Unable to parse input string as an integer, exceeded maximum size', v);
    }
    return f;
  }
  if (typeof v === 'string') {
    const s = v.trim();
    if (INT_STRING.test(s)) {
      const n = Number(s);
      return Number.isSafeInteger(n) ? n : BigInt(s);
    }
    return err(errors, 'int_parsing', loc, 'Input should be a valid integer, unable to parse string as an integer', v);
  }
  return err(errors, 'int_type', loc, 'Input should be a valid integer', v);
}

export function bool(v: PyValue, loc: Loc, errors: Errors): Out<boolean> {
  if (typeof v === 'boolean') return v;
  const bad = (): typeof BAD => err(errors, 'bool_parsing', loc, 'Input should be a valid boolean, unable to interpret input', v);
  if (typeof v === 'number' || typeof v === 'bigint') return v == 1 ? true : v == 0 ? false : bad();
  if (v instanceof PyFloat) return v.value === 1 ? true : v.value === 0 ? false : bad();
  if (typeof v === 'string') {
    const s = v.trim().toLowerCase();
    return TRUE_STRINGS.has(s) ? true : FALSE_STRINGS.has(s) ? false : bad();
  }
  return err(errors, 'bool_type', loc, 'Input should be a valid boolean', v);
}

export function str(v: PyValue, loc: Loc, errors: Errors): Out<string> {
  return typeof v === 'string' ? v : err(errors, 'string_type', loc, 'Input should be a valid string', v);
}

/** A float field with allow_inf_nan=False (SGLang's `temperature`). */
export function finiteFloat(v: PyValue, loc: Loc, errors: Errors): Out<number> {
  let f: number;
  if (typeof v === 'number') f = v;
  else if (typeof v === 'bigint') f = Number(v);
  else if (v instanceof PyFloat) f = v.value;
  else if (typeof v === 'boolean') f = v ? 1 : 0;
  else if (typeof v === 'string') {
    const s = v.trim().toLowerCase();
    f = /^[+-]?(inf|infinity)$/.test(s) ? (s.startsWith('-') ? -Infinity : Infinity) : /^[+-]?nan$/.test(s) ? NaN : s === '' ? NaN : Number(s);
    if (Number.isNaN(f) && !/nan$/.test(s)) return err(errors, 'float_parsing', loc, 'Input should be a valid number, unable to parse string as a number', v);
  } else return err(errors, 'float_type', loc, 'Input should be a valid number', v);
  if (!Number.isFinite(f)) return err(errors, 'finite_number', loc, 'Input should be a finite number', v);
  return f;
}

/** list[T]: every element validated, every element's errors kept. */
export function list<T>(v: PyValue, loc: Loc, errors: Errors, item: (x: PyValue, loc: Loc, errors: Errors) => Out<T>): Out<T[]> {
  if (!Array.isArray(v)) return err(errors, 'list_type', loc, 'Input should be a valid list', v);
  const out: T[] = new Array<T>(v.length);
  let ok = true;
  for (let i = 0; i < v.length; i++) {
    const r = item(v[i] as PyValue, [...loc, i], errors);
    if (r === BAD) ok = false;
    else out[i] = r;
  }
  return ok ? out : BAD;
}

/** A smart union: the first member valid in strict mode, else in lax mode, else all errors. */
export function union<T>(
  v: PyValue,
  loc: Loc,
  errors: Errors,
  members: [tag: string, validate: (x: PyValue, loc: Loc, errors: Errors, strict: boolean) => Out<T>][],
): Out<T> {
  for (const [tag, m] of members) {
    const r = m(v, [...loc, tag], [], true);
    if (r !== BAD) return r;
  }
  const all: Errors = [];
  for (const [tag, m] of members) {
    const local: Errors = [];
    const r = m(v, [...loc, tag], local, false);
    if (r !== BAD) return r;
    for (const x of local) if (all.length < MAX_ERRORS) all.push(x);
  }
  for (const x of all) if (errors.length < MAX_ERRORS) errors.push(x);
  return BAD;
}

/** One error as Python prints the dict FastAPI holds (key order: type, loc, msg, input, ctx). */
export function errorRepr(e: PydanticError, budget = Infinity): string {
  const ctx = e.ctx === undefined ? '' : `, 'ctx': ${e.ctx}`;
  return `{'type': ${pyStrRepr(e.type)}, 'loc': ${pyTupleRepr(e.loc)}, 'msg': ${pyStrRepr(e.msg)}, 'input': ${pyRepr(e.input, budget)}${ctx}}`;
}

export { pyRepr };
