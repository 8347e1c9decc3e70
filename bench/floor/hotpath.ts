import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NODE_FLAGS } from '../../src/cli/node-flags.js';
import { type EncodeTask, OP_ALONE } from '../../src/tokenize/protocol.js';
import { TokenizerPool } from '../../src/tokenize/pool.js';
import { buildCorpus } from '../workload/corpus.js';
import { qwen3Tokenizer } from '../workload/tokenizer.js';
import { BODY, type Closed, type HeapSample, PYTHON_BODY, DIST, metricSum, readText, scorecarSample, type Proc, ensureTools, ids, log, median, runBench, runWrk, startPinned, staticScript, writeReport } from './common.js';

/**
 * `npm run bench:hotpath`: scorecar's hot path in its modes, against the HTTP libraries' own floor,
 * in one run. Every server is pinned to core 0, wrk and the fixed-answer backends to core 1 (as in
 * bench:floor). Per run: requests per proxy CPU-second, and heap bytes allocated per item and GC
 * pause per 10,000 items read from scorecar's own /metrics (the library floors read the same
 * HeapMeter at /heap). Then tokenizer workers alone: cold texts per second with 1 and 2 threads.
 *
 * Variants, interleaved for HOTPATH_ROUNDS rounds (8 s each):
 *  - http-bare: node:http reading the floor body and answering fixed bytes (no scoring code);
 *  - http-dispatch: the same plus forwarding the body with undici's dispatch to the backend;
 *  - http-h1: the same forwarding through scorecar's H1Pool (what scorecar's scoring calls use);
 *  - ids: scorecar, floor body (50 + 10 x 170 ids), score cache off: bench:floor's setting;
 *  - ids-node: the same with --no-score-front (POST /v1/score served by node:http, not the H1 front);
 *  - ids-python: the same body as Python's json.dumps (requests' json=) writes it, ", " and ": ";
 *  - ids-cache-0 / ids-cache-50: the default memory score cache on, every item new (0% hits) or
 *    five of ten items repeated in every request (~50% hits), bodies written per request by wrk;
 *  - corpus-ids / text-warm: one bench-corpus request (summarized) as token ids, and the same
 *    request as text with every text already in scorecar's token caches, score cache off;
 *  - mis: floor body, score cache off, in front of a backend that advertises multi-item scoring.
 *
 * Rounds alternate their order (variants, and 1 vs 2 tokenizer threads) so that no variant always
 * follows the same neighbour.
 */
const ROUNDS = Number(process.env.HOTPATH_ROUNDS ?? 3);
const TOKENIZE_TASKS = 1_000;
/** Tasks kept outstanding: enough that no worker waits for the next, under the pool's queue bound. */
const TOKENIZE_WINDOW = 32;

type Variant = 'http-bare' | 'http-dispatch' | 'http-h1' | 'ids' | 'ids-node' | 'ids-python' | 'ids-cache-0' | 'ids-cache-50' | 'corpus-ids' | 'text-warm' | 'mis';

interface Run extends Closed {
  heapBytes: number;
  gcSeconds: number;
  items: number;
}

async function sample(p: Proc, library: boolean): Promise<HeapSample> {
  if (library) {
    const j = JSON.parse(await readText(`${p.url}/heap`)) as { allocated_bytes: number; gc_seconds: number; requests: number };
    return { heapBytes: j.allocated_bytes, gcSeconds: j.gc_seconds, items: 10 * j.requests };
  }
  return scorecarSample(p);
}

/**
 * A wrk script writing each body: `fixed` items the same in every request, the rest new (their
 * first two ids count requests from a base given per run, so no run repeats another's items).
 */
function cacheScript(fixed: number): string {
  const query = JSON.stringify(ids(50, 1));
  const fixedItems = Array.from({ length: fixed }, (_, k) => JSON.stringify(ids(170, k + 2)));
  const tail = ids(168, 99).join(',');
  return `wrk.method = "POST"
wrk.headers["content-type"] = "application/json"
local head = '{"query":${query},"items":['
local fixed = ${JSON.stringify(fixedItems.join(','))}
local tail = ',${tail}]'
local n = 0
function init(args) n = tonumber(args[1]) end
function request()
  n = n + 1
  local parts = {}
  if #fixed > 0 then parts[1] = fixed end
  for k = 1, ${10 - fixed} do
    parts[#parts + 1] = '[' .. (n % 150000 + 10) .. ',' .. (10 + k + 10 * (math.floor(n / 150000) % 15000)) .. tail
  end
  return wrk.format(nil, nil, nil, head .. table.concat(parts, ',') .. '],"label_token_ids":[9693,2152],"apply_softmax":true}')
end
`;
}

async function tokenizerScaling(texts: string[]): Promise<{ rounds: Array<{ one: number; two: number }> }> {
  const pools = { one: new TokenizerPool({ threads: 1 }), two: new TokenizerPool({ threads: 2 }) };
  await Promise.all([pools.one.ready(), pools.two.ready()]);
  // Each task's ops go to the worker by transfer, so every task gets its own.
  const opsFor = (): Int32Array => {
    const ops = new Int32Array(30);
    for (let i = 0; i < 10; i++) ops.set([OP_ALONE, i, 0], 3 * i);
    return ops;
  };
  let salt = 0;
  const run = async (pool: TokenizerPool): Promise<number> => {
    // Every text new to the run; words recur, and each worker's BPE word cache sees them as in production.
    const tag = ++salt;
    const task = (t: number): EncodeTask => ({
      type: 'encode',
      texts: Array.from({ length: 10 }, (_, i) => `${texts[(t * 10 + i) % texts.length]} (${tag}.${t})`),
      ops: opsFor(),
      wantEdges: false,
    });
    const t0 = performance.now();
    // A closed loop of TOKENIZE_WINDOW outstanding tasks, each answered task making room for the
    // next: runs of a second or two, long enough that a burst of CPU steal does not decide a round.
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < TOKENIZE_TASKS) await pool.encode(task(next++));
    };
    await Promise.all(Array.from({ length: TOKENIZE_WINDOW }, lane));
    return (TOKENIZE_TASKS * 10) / ((performance.now() - t0) / 1000);
  };
  await run(pools.one);
  await run(pools.two);
  const rounds: Array<{ one: number; two: number }> = [];
  for (let r = 0; r < 7; r++) {
    if (r % 2 === 0) {
      const one = await run(pools.one);
      rounds.push({ one, two: await run(pools.two) });
    } else {
      const two = await run(pools.two);
      rounds.push({ one: await run(pools.one), two });
    }
  }
  await Promise.all([pools.one.close(), pools.two.close()]);
  return { rounds };
}

function tokenizerLine(rounds: Array<{ one: number; two: number }>): string {
  const ratios = rounds.map((r) => r.two / r.one);
  return `Tokenizer workers alone (TokenizerPool, ${TOKENIZE_TASKS} tasks of 10 new corpus texts each, ${TOKENIZE_WINDOW} outstanding), texts per second, 1 vs 2 threads interleaved (order alternating): ${rounds.map((r) => `${r.one.toFixed(0)} / ${r.two.toFixed(0)}`).join(', ')}; 2 / 1 threads per round ${ratios.map((x) => `${x.toFixed(2)}x`).join(', ')}, median ${median(ratios).toFixed(2)}x.`;
}

async function main(procs: Proc[]): Promise<void> {
  ensureTools();
  const work = mkdtempSync(join(tmpdir(), 'scorecar-hotpath-'));
  const corpus = buildCorpus({ seed: 1, mode: 'summarized', jobs: 400, queries: 60 }, qwen3Tokenizer());
  if (process.env.HOTPATH_ONLY === 'tokenizer') {
    // The tokenizer part alone, printed, no report written (for working on the workers).
    const only = await tokenizerScaling(corpus.items.map((it) => it.text));
    log(tokenizerLine(only.rounds));
    return;
  }
  const q = corpus.queries[0]!;
  const items = corpus.items.slice(0, 10);
  const corpusTokens = items.reduce((s, it) => s + q.ids.length + it.ids.length, 0);
  const textBody = JSON.stringify({ query: q.text, items: items.map((it) => it.text), label_token_ids: [9693, 2152], apply_softmax: true });
  const idsBody = JSON.stringify({ query: [...q.ids], items: items.map((it) => [...it.ids]), label_token_ids: [9693, 2152], apply_softmax: true });
  const script = (name: string, text: string): string => {
    const f = join(work, `${name}.lua`);
    writeFileSync(f, text);
    return f;
  };
  const scripts: Record<Variant, string> = {
    'http-bare': script('floor', staticScript(BODY)),
    'http-dispatch': join(work, 'floor.lua'),
    'http-h1': join(work, 'floor.lua'),
    ids: join(work, 'floor.lua'),
    'ids-node': join(work, 'floor.lua'),
    'ids-python': script('python', staticScript(PYTHON_BODY)),
    mis: join(work, 'floor.lua'),
    'ids-cache-0': script('cache0', cacheScript(0)),
    'ids-cache-50': script('cache50', cacheScript(5)),
    'corpus-ids': script('corpus-ids', staticScript(idsBody)),
    'text-warm': script('text', staticScript(textBody)),
  };
  const fixed = join(DIST, 'bench/floor/fixed-backend.js');
  const backend = await startPinned('backend', 1, process.execPath, [fixed, '0'], /listening on (http:\/\/\S+)/);
  procs.push(backend);
  const misBackend = await startPinned('mis-backend', 1, process.execPath, [fixed, '0', '--mis'], /listening on (http:\/\/\S+)/);
  procs.push(misBackend);
  const floor = join(DIST, 'bench/floor/http-floor.js');
  const scorecar = (name: string, be: string, cache: string, extra: string[] = []): Promise<Proc> =>
    startPinned(
      name,
      0,
      process.execPath,
      [...NODE_FLAGS, join(DIST, 'src/cli/main.js'), 'serve', '--host', '127.0.0.1', '--port', '0', '--grpc-port', '0', '--backend', be, '--score-cache', cache, '--coalesce-window-ms', '0', '--tokenizer-threads', '1', ...extra],
      /HTTP API on (http:\/\/\S+)/,
    );
  // The cache variants' cache is sized so that the warm-up run fills it: the measured runs see it
  // full and evicting, as a sidecar sees it once it has run a while. At the default 256 MiB it
  // would still be growing through the runs (its table doubling, new arena slabs), and the GC of
  // that one-off growth (1.91 ms per 10k items over the runs of 2026-12-06) is not the steady state.
  const cacheMb = ['--score-cache-mb', '32'];
  const start: Record<Variant, () => Promise<Proc>> = {
    'http-bare': () => startPinned('http-bare', 0, process.execPath, [floor, '0', 'bare'], /listening on (http:\/\/\S+)/),
    'http-dispatch': () => startPinned('http-dispatch', 0, process.execPath, [floor, '0', 'dispatch', backend.url], /listening on (http:\/\/\S+)/),
    'http-h1': () => startPinned('http-h1', 0, process.execPath, [floor, '0', 'h1', backend.url], /listening on (http:\/\/\S+)/),
    ids: () => scorecar('ids', backend.url, 'off'),
    'ids-node': () => scorecar('ids-node', backend.url, 'off', ['--no-score-front']),
    'ids-python': () => scorecar('ids-python', backend.url, 'off'),
    'ids-cache-0': () => scorecar('ids-cache-0', backend.url, 'memory', cacheMb),
    'ids-cache-50': () => scorecar('ids-cache-50', backend.url, 'memory', cacheMb),
    'corpus-ids': () => scorecar('corpus-ids', backend.url, 'off'),
    'text-warm': () => scorecar('text-warm', backend.url, 'off'),
    mis: () => scorecar('mis', misBackend.url, 'off'),
  };
  // HOTPATH_VARIANTS=a,b runs only those (a quick look at a few; the report's ratios need all).
  const only = process.env.HOTPATH_VARIANTS?.split(',') ?? Object.keys(start);
  const servers = {} as Record<Variant, Proc>;
  for (const v of Object.keys(start) as Variant[]) {
    if (!only.includes(v)) continue;
    servers[v] = await start[v]();
    procs.push(servers[v]);
  }
  // The text variant measures scorecar's own tokenizing path only if the backend tokenizes alike.
  const match = servers['text-warm'] === undefined ? 1 : metricSum(await readText(`${servers['text-warm'].url}/metrics`), 'scorecar_backend_tokenizer_match');
  if (match !== 1) throw new Error(`text-warm: scorecar does not see the backend's tokenizer as its own (scorecar_backend_tokenizer_match ${match}): text would be relayed, not tokenized`);
  const variants = Object.keys(servers) as Variant[];
  const library = (v: Variant): boolean => v.startsWith('http-');
  let base = 0;
  const measure = async (v: Variant): Promise<Run> => {
    const p = servers[v];
    // A variant that stops answering is named, with how its process ended.
    const read = (): Promise<HeapSample> =>
      sample(p, library(v)).catch((e: unknown) => {
        throw new Error(`${v}: reading ${p.url} failed (process exit ${p.child.exitCode}, signal ${p.child.signalCode})`, { cause: e });
      });
    const before = await read();
    base += 10_000_000;
    const r = runWrk(p.url, scripts[v], p.cpuPid(), [String(base)]);
    const after = await read();
    return { ...r, heapBytes: after.heapBytes - before.heapBytes, gcSeconds: after.gcSeconds - before.gcSeconds, items: after.items - before.items };
  };
  log(`warm-up: one run per variant (JIT, token caches), not recorded`);
  for (const v of variants) await measure(v);
  const runs: Record<Variant, Run[]> = Object.fromEntries(variants.map((v) => [v, [] as Run[]])) as Record<Variant, Run[]>;
  for (let round = 0; round < ROUNDS; round++) {
    // Every other round runs the variants in reverse, so that no variant always runs right after
    // the same neighbour on the shared cores (mis, always last, read 1.07-1.20x of ids over five
    // runs before this).
    for (const v of round % 2 === 1 ? [...variants].reverse() : variants) {
      const r = await measure(v);
      runs[v].push(r);
      log(`  round ${round + 1} ${v}: ${(r.requests / r.cpuS).toFixed(0)} req per CPU-s, ${(r.heapBytes / r.items).toFixed(0)} B heap per item, ${((r.gcSeconds * 1000 * 10_000) / r.items).toFixed(2)} ms GC per 10k items`);
    }
  }
  if (variants.length < Object.keys(start).length) {
    log('HOTPATH_VARIANTS is set: no report (its ratios need every variant)');
    return;
  }
  // Score-cache hit shares, from the cache variants' own counters.
  const hits: Partial<Record<Variant, string>> = {};
  for (const v of ['ids-cache-0', 'ids-cache-50'] as const) {
    const m = await readText(`${servers[v].url}/metrics`);
    hits[v] = `${(metricSum(m, 'scorecar_score_cache_hit_ratio') * 100).toFixed(0)}%`;
  }
  log('tokenizer workers alone: cold texts per second, 1 vs 2 threads');
  const tok = await tokenizerScaling(corpus.items.map((it) => it.text));

  const perCpu = (v: Variant): number => median(runs[v].map((r) => r.requests / r.cpuS));
  const perItem = (v: Variant): number => median(runs[v].map((r) => r.heapBytes / r.items));
  const gc10k = (v: Variant): number => median(runs[v].map((r) => (r.gcSeconds * 1000 * 10_000) / r.items));
  const roundRatio = (a: Variant, b: Variant, f: (r: Run) => number): number => median(runs[a].map((r, i) => f(r) / f(runs[b][i] as Run)));
  const cpuPerItem = (r: Run): number => r.cpuS / r.items;
  const rows = variants.map(
    (v) => `| ${v} | ${perCpu(v).toFixed(0)} | ${perItem(v).toFixed(0)} | ${gc10k(v).toFixed(2)} |`,
  );
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  const md = [
    '# bench:hotpath: scorecar by mode, against the HTTP libraries alone',
    '',
    `Command: \`npm run build && npm run bench:hotpath\` (HOTPATH_ROUNDS=${ROUNDS}). Every server pinned to core 0; wrk (-t1 -c32, 8 s per run) and the fixed-answer backends on core 1; variants interleaved, ${ROUNDS} rounds after one warm-up run each; medians. Heap and GC from each scorecar's /metrics (\`scorecar_heap_allocated_bytes_total\`, \`scorecar_gc_pause_seconds\`, \`scorecar_items_total\`); the library floors read the same meter. ${new Date().toISOString().slice(0, 10)}, Node ${process.version}, load average at the end ${load}.`,
    '',
    `Bodies: floor = query of 50 ids + 10 items of 170 ids (${BODY.length} bytes; ids-python: ${PYTHON_BODY.length} bytes as Python's json.dumps writes it). corpus = one summarized bench-corpus request, ${corpusTokens} prompt tokens over 10 items, as ids (${idsBody.length} bytes) or as text (${textBody.length} bytes). Score-cache hit ratio at the end: ids-cache-0 ${hits['ids-cache-0']}, ids-cache-50 ${hits['ids-cache-50']}.`,
    '',
    '| variant | req per proxy CPU-second | heap B per item | GC ms per 10k items |',
    '|---|---:|---:|---:|',
    ...rows,
    '',
    'Same-round ratios (median over rounds):',
    '',
    `- ids / ids-node (the H1 front against node:http for POST /v1/score): requests per CPU-second ${roundRatio('ids', 'ids-node', (r) => r.requests / r.cpuS).toFixed(2)}x, heap per item ${roundRatio('ids', 'ids-node', (r) => r.heapBytes / r.items).toFixed(2)}x, GC per item ${roundRatio('ids', 'ids-node', (r) => r.gcSeconds / r.items).toFixed(2)}x.`,
    `- text-warm / corpus-ids: CPU per item ${roundRatio('text-warm', 'corpus-ids', cpuPerItem).toFixed(2)}x, heap per item ${roundRatio('text-warm', 'corpus-ids', (r) => r.heapBytes / r.items).toFixed(2)}x, GC per item ${(gc10k('text-warm') / gc10k('corpus-ids')).toFixed(2)}x (ratio of the medians: a run may hold no pause at all).`,
    `- ids-python / ids (the same body as Python's json.dumps writes it): CPU per item ${roundRatio('ids-python', 'ids', cpuPerItem).toFixed(2)}x, heap per item ${roundRatio('ids-python', 'ids', (r) => r.heapBytes / r.items).toFixed(2)}x.`,
    `- mis / ids (single-item): CPU per item ${roundRatio('mis', 'ids', cpuPerItem).toFixed(2)}x, heap per item ${roundRatio('mis', 'ids', (r) => r.heapBytes / r.items).toFixed(2)}x.`,
    `- ids-cache-50 / ids: CPU per item ${roundRatio('ids-cache-50', 'ids', cpuPerItem).toFixed(2)}x; ids-cache-0 / ids: ${roundRatio('ids-cache-0', 'ids', cpuPerItem).toFixed(2)}x.`,
    `- http-h1 / ids (what node:http + H1Pool alone allocate, of scorecar's total): heap per item ${roundRatio('http-h1', 'ids', (r) => r.heapBytes / r.items).toFixed(2)}x; http-h1 / http-dispatch: heap per item ${roundRatio('http-h1', 'http-dispatch', (r) => r.heapBytes / r.items).toFixed(2)}x, CPU per request ${roundRatio('http-h1', 'http-dispatch', (r) => r.cpuS / r.requests).toFixed(2)}x.`,
    '',
    tokenizerLine(tok.rounds),
    '',
    'Per-run figures:',
    '',
    ...variants.flatMap((v) =>
      runs[v].map((r, i) => `- ${v} round ${i + 1}: ${r.rps.toFixed(0)} req/s, ${r.cpuS.toFixed(2)} CPU-s, ${r.items} items, ${(r.heapBytes / 1e6).toFixed(1)} MB heap, ${(r.gcSeconds * 1000).toFixed(1)} ms GC`),
    ),
    '',
  ].join('\n');
  writeReport('hotpath', md);
}

runBench('hotpath', main);
