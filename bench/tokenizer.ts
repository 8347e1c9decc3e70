/**
 * `npm run bench:tokenizer`: what hf-fast-paths.ts buys, on one thread, ids checked equal.
 * Four tokenizers from the same file, as src/tokenize/text-tokenizer.ts builds them: the package
 * as shipped, then with each fast path added in turn (the last is what the workers run).
 * Each round tokenizes the same 3,000 bench-corpus texts (summarized items, each with a numbered
 * suffix) with each tokenizer in turn, order alternating; 7 rounds after one warm-up, medians of
 * the per-round ratios. The corpus's words recur, so after the warm-up the BPE word caches hit
 * almost always: this measures the cache's cost per hit, not a vocabulary wider than its 10,000
 * entries (where FIFO may evict a word LRU would have kept; either way ids are unchanged).
 *
 * Run: npm run build && npm run bench:tokenizer
 */
import { readFileSync } from 'node:fs';
import { type TextTokenizer, createTextTokenizer } from '../src/tokenize/text-tokenizer.js';
import { loadTokenizerFiles } from '../src/tokenize/tokenizer-file.js';
import { median, writeReport } from './floor/common.js';
import { buildCorpus } from './workload/corpus.js';

const TEXTS = 3_000;
const ROUNDS = 7;
const files = loadTokenizerFiles();
const variants: Array<[string, TextTokenizer]> = [
  ['package as shipped', createTextTokenizer(files, { byteLevel: false, bpeCache: false, preTokenizeLoop: false })],
  ['+ fast ByteLevel step', createTextTokenizer(files, { bpeCache: false, preTokenizeLoop: false })],
  ['+ FIFO word cache', createTextTokenizer(files, { preTokenizeLoop: false })],
  ['+ pre-tokenize loop (what the workers run)', createTextTokenizer(files)],
];
const corpus = buildCorpus({ seed: 1, mode: 'summarized', jobs: 400, queries: 60 }, variants[3]![1]);
const texts = corpus.items.map((it) => it.text);
/** Tokenizes the texts, each with suffix `tag` (the same tag gives the same texts). */
function run(tok: TextTokenizer, tag: number): { ms: number; tokens: number; check: number } {
  let tokens = 0;
  let check = 0;
  const t0 = performance.now();
  for (let k = 0; k < TEXTS; k++) {
    const ids = tok.encode(`${texts[k % texts.length]} (${tag % 3}.${k})`);
    tokens += ids.length;
    for (let i = 0; i < ids.length; i++) check = (Math.imul(check, 31) + (ids[i] as number)) | 0;
  }
  return { ms: performance.now() - t0, tokens, check };
}

for (const [, tok] of variants) run(tok, 0);
const ms: number[][] = variants.map(() => []);
for (let r = 0; r < ROUNDS; r++) {
  // One tag for every tokenizer of a round, so all encode the same texts (checked below).
  const order = r % 2 === 0 ? [0, 1, 2, 3] : [3, 2, 1, 0];
  const results: Array<{ ms: number; tokens: number; check: number }> = [];
  for (const v of order) results[v] = run(variants[v]![1], r + 1);
  const ref = results[0]!;
  for (const x of results) if (x.tokens !== ref.tokens || x.check !== ref.check) throw new Error('the tokenizers disagree on ids');
  results.forEach((x, v) => ms[v]!.push(x.ms));
}
const speedup = (v: number): number => median(ms[0]!.map((t, r) => t / (ms[v]![r] as number)));
const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const md = [
  '# bench:tokenizer: the tokenizer fast paths on one thread',
  '',
  `Command: \`npm run build && npm run bench:tokenizer\`. ${TEXTS} summarized bench-corpus texts per run, ${ROUNDS} rounds, order alternating; ids checked equal across the four in every round. ${new Date().toISOString().slice(0, 10)}, Node ${process.version}, load average at the end ${load}.`,
  '',
  '| tokenizer | texts per second (median) | speed-up over the package (median of per-round ratios) |',
  '|---|---:|---:|',
  ...variants.map(([name], v) => `| ${name} | ${((TEXTS * 1000) / median(ms[v]!)).toFixed(0)} | ${speedup(v).toFixed(2)}x |`),
  '',
  'Per-round ms: ' + variants.map(([name], v) => `${name}: ${ms[v]!.map((x) => x.toFixed(0)).join(', ')}`).join('; ') + '.',
  '',
].join('\n');
writeReport('tokenizer', md);
