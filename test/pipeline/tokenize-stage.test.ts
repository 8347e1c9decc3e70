import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scanScoreBody } from '../../src/api/http/score-scanner.js';
import { ScoreJob } from '../../src/pipeline/score-job.js';
import { type TextLookup, type TokenizeDeps, resolveText, resolveTextNow, resolveTextRest } from '../../src/pipeline/tokenize-stage.js';
import { BoundaryRules } from '../../src/tokenize/boundary.js';
import { JoinOracle } from '../../src/tokenize/join-oracle.js';
import { TokenizerPool } from '../../src/tokenize/pool.js';
import { OP_ALONE, RESULT_HEADER, RESULT_STRIDE, type EncodeTask, type EncodeResult } from '../../src/tokenize/protocol.js';
import { TokenCache } from '../../src/tokenize/token-cache.js';
import { identify } from '../../src/pipeline/cache-stage.js';
import { KeyedHash } from '../../src/mem/keyed-hash.js';

const hasher = await KeyedHash.create(Buffer.from('a test secret for the tokenize stage'));
import { loadTokenizerFiles } from '../../src/tokenize/tokenizer-file.js';

/**
 * The tokenize stage gives the backend exactly the ids SGLang would have made from the text:
 * whole query+item strings in single-item mode, parts alone in MIS mode; warm requests never
 * reach a worker.
 */
let pool: TokenizerPool;
let deps: TokenizeDeps;
let tasks = 0;

beforeAll(async () => {
  pool = new TokenizerPool({ threads: 1 });
  await pool.ready();
  const files = loadTokenizerFiles();
  const counting = Object.create(pool) as TokenizerPool;
  counting.encode = (task: EncodeTask): Promise<EncodeResult> => {
    tasks++;
    return pool.encode(task);
  };
  deps = { pool: counting, prefixCache: new TokenCache(1 << 24), itemCache: new TokenCache(1 << 24), oracle: new JoinOracle(BoundaryRules.fromTokenizerJson(files.tokenizerJson)) };
});

afterAll(async () => {
  await pool.close();
});

async function reference(texts: string[]): Promise<number[][]> {
  const ops = new Int32Array(texts.length * 3);
  texts.forEach((_, i) => ((ops[3 * i] = OP_ALONE), (ops[3 * i + 1] = i)));
  const r = await pool.encode({ type: 'encode', texts, ops, wantEdges: false });
  return texts.map((_, i) => {
    const off = r.packed[RESULT_HEADER + RESULT_STRIDE * i] as number;
    return Array.from(r.packed.subarray(off, off + (r.packed[RESULT_HEADER + RESULT_STRIDE * i + 1] as number)));
  });
}

/** The ids each prompt reaches the backend with, as SGLang would concatenate them. */
function sentPrompts(job: ScoreJob, itemFirst: boolean): number[][] {
  const q = Array.from(job.qRef.subarray(job.qOff, job.qOff + job.qLen));
  const out: number[][] = [];
  for (let i = 0; i < job.n; i++) {
    const a = Array.from((job.aRef[i] as Int32Array).subarray(job.aOff[i], (job.aOff[i] as number) + (job.aLen[i] as number)));
    const b = Array.from((job.bRef[i] as Int32Array).subarray(job.bOff[i], (job.bOff[i] as number) + (job.bLen[i] as number)));
    const item = [...a, ...b];
    out.push(job.wholePrompts ? item : itemFirst ? [...item, ...q] : [...q, ...item]);
  }
  return out;
}

/** A scanned text job for `body`, identified, its items all active. */
function textJob(body: object): ScoreJob {
  const raw = Buffer.from(JSON.stringify(body));
  const job = new ScoreJob();
  expect(scanScoreBody(raw, raw.length, job)).toBe(true);
  job.kind = 'text';
  job.selectAll();
  identify(job, hasher);
  return job;
}

async function resolve(body: object, mis: boolean): Promise<ScoreJob> {
  const job = textJob(body);
  await resolveText(job, deps, mis);
  return job;
}

describe('tokenize stage', () => {
  it('single-item mode: ids equal tokenizing each whole query+item string, cold and warm', async () => {
    const body = { query: 'Query: python jobs\n', items: ['Title: Senior Python Engineer', 'Title: Chef', 'Title: Data Scientist'] };
    const expected = await reference(body.items.map((it) => body.query + it));
    const before = tasks;
    const cold = await resolve(body, false);
    expect(tasks - before).toBe(1); // one task per request
    expect(cold.wholePrompts).toBe(false); // every join provably exact
    expect(sentPrompts(cold, false)).toEqual(expected);
    const mid = tasks;
    const warm = await resolve(body, false);
    expect(tasks).toBe(mid); // warm: no worker at all
    expect(sentPrompts(warm, false)).toEqual(expected);
  });

  it('resolves a warm request synchronously, with the ids the worker path gives, and a cold one only through the workers', async () => {
    const body = { query: 'Query: rust jobs\n', items: ['Title: Rust Engineer', 'Title: Baker'] };
    const expected = await reference(body.items.map((it) => body.query + it));
    const make = (): ScoreJob => textJob(body);
    const cold = make();
    const hitsBefore = deps.itemCache.hits + deps.itemCache.misses;
    const found = resolveTextNow(cold, deps, false) as TextLookup;
    expect(found).not.toBeNull();
    expect([found.query, found.work]).toEqual([undefined, 2]);
    await resolveTextRest(cold, deps, false, found);
    expect(sentPrompts(cold, false)).toEqual(expected);
    // Each item looked up once for the request, not again by the worker part.
    expect(deps.itemCache.hits + deps.itemCache.misses - hitsBefore).toBe(2);
    const before = tasks;
    const warm = make();
    expect(resolveTextNow(warm, deps, false)).toBeNull();
    expect(tasks).toBe(before);
    expect(sentPrompts(warm, false)).toEqual(expected);
    expect(warm.tokenizeMs).toBeGreaterThanOrEqual(0);
  });

  it('single-item mode with item_first: item+query strings', async () => {
    const body = { query: '\nIs this relevant?', items: ['Backend engineer', 'Frontend engineer'], item_first: true };
    const expected = await reference(body.items.map((it) => it + body.query));
    const job = await resolve(body, false);
    expect(sentPrompts(job, true)).toEqual(expected);
    expect(sentPrompts(await resolve(body, false), true)).toEqual(expected);
  });

  it('falls back to whole-string tokenization when a join is not exact, also for cached items', async () => {
    // "pyth" + "on..." merges across the join; the cached item "on call" must not be reused as is.
    const warmItem = { query: 'Query: ', items: ['on call engineer'] };
    await resolve(warmItem, false);
    const body = { query: 'pyth', items: ['on call engineer', ' developer'] };
    const expected = await reference(body.items.map((it) => body.query + it));
    const job = await resolve(body, false);
    expect(job.wholePrompts).toBe(true);
    expect(sentPrompts(job, false)).toEqual(expected);
    expect(sentPrompts(await resolve(body, false), false)).toEqual(expected);
  });

  it('MIS mode: query and items tokenized on their own', async () => {
    const body = { query: 'pyth', items: ['on call', '机器学习 🚀'] };
    const [q, ...items] = await reference([body.query, ...body.items]);
    const job = await resolve(body, true);
    expect(Array.from(job.qRef.subarray(0, job.qLen))).toEqual(q);
    expect(sentPrompts(job, false)).toEqual(items.map((it) => [...(q as number[]), ...it]));
  });

  it('decodes JSON escapes before tokenizing', async () => {
    const body = { query: 'Query:\t"quoted"\n', items: ['line\nbreak \u00e9 \\ slash'] };
    const expected = await reference([body.query + body.items[0]]);
    expect(sentPrompts(await resolve(body, false), false)).toEqual(expected);
  });
});
