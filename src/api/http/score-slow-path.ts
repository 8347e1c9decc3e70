import { hashBytes, hashOut } from '../../mem/hash.js';
import type { ScoreJob } from '../../pipeline/score-job.js';
import { TYPE_VALIDATION } from '../../sglang/errors.js';
import { jsonInvalidMessage, validateScoreBody } from '../../sglang/score-schema.js';

export type SlowPathResult = { ok: true } | { ok: false; message: string; type: string };

const fatalUtf8 = new TextDecoder('utf-8', { fatal: true });

function inInt32(v: number): boolean {
  return v >= -2147483648 && v <= 2147483647;
}

/**
 * Parses a /v1/score body the way SGLang does (JSON.parse, then pydantic's rules) and fills the
 * job as the fast scanner would. Texts are re-encoded as JSON string literals into a fresh body,
 * so downstream stages see the same spans-and-hashes shape either way.
 */
export function parseScoreBodySlow(raw: Buffer, length: number, job: ScoreJob): SlowPathResult {
  job.reset();
  let value: unknown;
  try {
    value = JSON.parse(fatalUtf8.decode(raw.subarray(0, length)));
  } catch (e) {
    const pos = /position (\d+)/.exec(String(e))?.[1];
    return { ok: false, message: jsonInvalidMessage(pos ? Number(pos) : 0), type: TYPE_VALIDATION };
  }
  const r = validateScoreBody(value);
  if (!r.ok) return { ok: false, message: r.message, type: TYPE_VALIDATION };
  const f = r.value;
  const outOfRange = (ids: number[]): boolean => ids.some((v) => !inInt32(v));
  if (
    (Array.isArray(f.query) && outOfRange(f.query)) ||
    (f.labels !== null && outOfRange(f.labels)) ||
    (Array.isArray(f.items) && f.items.some((it) => Array.isArray(it) && outOfRange(it)))
  ) {
    return { ok: false, message: 'Token ids must be 32-bit integers (scorecar)', type: TYPE_VALIDATION };
  }

  // Texts as JSON string literals, in one buffer: [query][items...][model].
  const texts: string[] = [];
  if (typeof f.query === 'string') texts.push(f.query);
  const itemTexts = typeof f.items === 'string' ? (f.items.length > 0 ? [f.items] : []) : Array.isArray(f.items) && typeof f.items[0] === 'string' ? (f.items as string[]) : [];
  const literals = [...texts, ...itemTexts, f.model].map((t) => JSON.stringify(t));
  const body = Buffer.from(literals.join(''), 'utf8');
  job.body = body;
  job.bodyLength = body.length;
  let at = 0;
  const span = (k: number): [number, number] => {
    const lit = literals[k] as string;
    const len = Buffer.byteLength(lit);
    const s = at + 1;
    at += len;
    return [s, at - 1];
  };
  let k = 0;
  const record = (t: number, s: number, e: number, lit: string): void => {
    hashBytes(body, s, e);
    job.textHash[2 * t] = hashOut[0] as number;
    job.textHash[2 * t + 1] = hashOut[1] as number;
    job.escaped[t] = lit.includes('\\') ? 1 : 0;
  };

  const n = f.items === null ? 0 : typeof f.items === 'string' ? itemTexts.length : f.items.length;
  job.reserve(Math.max(1, n));
  if (typeof f.query === 'string') {
    const [s, e] = span(k);
    record(0, s, e, literals[k] as string);
    k++;
    job.queryStart = s;
    job.queryEnd = e;
    job.queryKind = 'text';
  } else if (Array.isArray(f.query)) {
    job.queryOff = job.arenaUsed;
    for (const v of f.query) job.pushId(v);
    job.queryLen = f.query.length;
    job.queryKind = 'ids';
  }
  job.itemsPresent = f.items !== null;
  job.n = n;
  if (n === 0) job.itemsKind = 'empty';
  else if (itemTexts.length > 0) {
    job.itemsKind = 'text';
    for (let i = 0; i < itemTexts.length; i++) {
      const [s, e] = span(k);
      record(i + 1, s, e, literals[k] as string);
      k++;
      job.itemSpans[2 * i] = s;
      job.itemSpans[2 * i + 1] = e;
    }
  } else {
    job.itemsKind = 'ids';
    const rows = f.items as number[][];
    for (let i = 0; i < rows.length; i++) {
      const off = job.arenaUsed;
      for (const v of rows[i] as number[]) job.pushId(v);
      job.setItemIds(i, off, job.arenaUsed - off);
    }
  }
  const [ms, me] = span(k);
  job.modelStart = ms;
  job.modelEnd = me;
  if (f.labels !== null) {
    job.hasLabels = true;
    for (const v of f.labels) job.pushLabel(v);
  }
  job.applySoftmax = f.applySoftmax;
  job.itemFirst = f.itemFirst;
  return { ok: true };
}
