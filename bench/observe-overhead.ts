/**
 * What observability costs per /v1/score request, two ways.
 *
 * 1. End to end: tracing off (the default), tracing on with the real OTLP/HTTP exporter
 *    (batching, JSON) to a local collector that discards what it gets, and tracing off with a
 *    debug line per request (to /dev/null). The emulator (profile zero: no simulated GPU time)
 *    runs as its own process; this process holds the three scorecars and the client. Rounds are
 *    interleaved (the order rotates each round) so drift on a shared machine falls on every
 *    configuration alike. Score cache and coalescing are off: every request takes the whole path
 *    to the backend. Reported: median over rounds of requests per second and mean latency, and
 *    bytes this process allocated per request (V8 heap, scorecar's own HeapMeter: client and
 *    sidecar together, identical work apart from observability).
 * 2. In isolation: the per-request observability work alone, off (request id, the null tests)
 *    and on (server span, the seven stage spans a /v1/score request records, one backend call
 *    span and its traceparent), through a span processor whose exporter drops the spans: what
 *    the request path pays, without export (which runs later, batched, off the request).
 *
 * Run: npm run build && node dist/bench/observe-overhead.js [--rounds 7] [--requests 2000] [--concurrency 8]
 */
import { openSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { Pool } from 'undici';
import { parseServeConfig } from '../src/config/serve-config.js';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { createLogger } from '../src/observe/logger.js';
import { RequestIds } from '../src/observe/request-id.js';
import { SpanKind, type Tracing, createTracing, forwardableTraceparent, traceparentOf } from '../src/observe/tracing.js';
import { type RunningSidecar, startSidecar } from '../src/sidecar.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '7' },
    requests: { type: 'string', default: '2000' },
    concurrency: { type: 'string', default: '8' },
  },
});
const ROUNDS = Number(values.rounds);
const REQUESTS = Number(values.requests);
const CONCURRENCY = Number(values.concurrency);

/** An OTLP/HTTP collector that reads and discards every export. */
async function discardingCollector(): Promise<{ url: string; exports: () => number; server: Server }> {
  let n = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      n++;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, exports: () => n, server };
}

const BODY = JSON.stringify({
  query: 'senior backend engineer, distributed systems, remote',
  items: Array.from({ length: 10 }, (_, i) => `Job posting ${i}: we are hiring an engineer to build reliable services in TypeScript and Go`),
  label_token_ids: [9454, 2753],
  apply_softmax: true,
});

async function round(pool: Pool, requests: number): Promise<{ rps: number; meanMs: number }> {
  let next = 0;
  let latency = 0;
  const worker = async (): Promise<void> => {
    while (next < requests) {
      next++;
      const t0 = performance.now();
      const r = await pool.request({ path: '/v1/score', method: 'POST', headers: { 'content-type': 'application/json' }, body: BODY });
      await r.body.dump();
      if (r.statusCode !== 200) throw new Error(`status ${r.statusCode}`);
      latency += performance.now() - t0;
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const s = (performance.now() - started) / 1000;
  return { rps: requests / s, meanMs: latency / requests };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

/** `scorecar emulate` as a child process; resolves with its URL. */
async function emulatorProcess(): Promise<{ url: string; stop(): void }> {
  const main = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
  const child = spawn(process.execPath, [main, 'emulate', '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /listening on (http:\/\/[^\s"]+)/.exec(out);
      if (m) resolve(m[1] as string);
    });
    child.once('exit', (code) => reject(new Error(`emulator exited ${code}: ${out}`)));
  });
  child.stdout.resume();
  return { url, stop: () => child.kill('SIGTERM') };
}

/** Exports nothing: measures span creation and processing on the request path. */
class DroppingExporter implements SpanExporter {
  export(_spans: ReadableSpan[], done: (r: { code: 0 }) => void): void {
    done({ code: 0 });
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/** ns per request of the observability work alone, off and on, interleaved. */
async function isolated(): Promise<{ offNs: number; onNs: number }> {
  const ids = new RequestIds('bench');
  // Batching, as in production; spans beyond its bounded queue are dropped, as in production.
  const tracing = (await createTracing({ endpoint: null, serviceName: 'bench', exporter: new DroppingExporter(), batch: true })) as Tracing;
  const headers: Record<string, string | undefined> = { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' };
  let sink = 0;
  const off = (n: number): void => {
    for (let i = 0; i < n; i++) {
      const rid = ids.accept(undefined);
      const trace = null as Tracing | null;
      const tp = trace === null ? forwardableTraceparent(headers.traceparent) : null;
      sink += rid.length + (tp?.length ?? 0);
    }
  };
  const on = (n: number): void => {
    for (let i = 0; i < n; i++) {
      const rid = ids.accept(undefined);
      const t0 = performance.now();
      const t = tracing.startRequest('POST /v1/score', headers, t0, { 'http.route': '/v1/score', 'scorecar.request_id': rid });
      if (t === null) throw new Error('sampled traceparent not recorded');
      for (const stage of ['cache lookup', 'tokenize', 'shaper queue', 'dispatch', 'cache store', 'merge']) t.stage(stage, t0, performance.now());
      const call = t.child('backend score', SpanKind.CLIENT, performance.now());
      sink += traceparentOf(call).length;
      call.end(performance.now());
      t.end(200, performance.now(), false);
    }
  };
  const ROUND = 20_000;
  off(ROUND);
  on(ROUND);
  const offNs: number[] = [];
  const onNs: number[] = [];
  for (let r = 0; r < 7; r++) {
    let t = process.hrtime.bigint();
    off(ROUND);
    offNs.push(Number(process.hrtime.bigint() - t) / ROUND);
    t = process.hrtime.bigint();
    on(ROUND);
    onNs.push(Number(process.hrtime.bigint() - t) / ROUND);
  }
  if (sink === 42) console.log('');
  void tracing.shutdown();
  return { offNs: median(offNs), onNs: median(onNs) };
}

async function main(): Promise<void> {
  const emu = await emulatorProcess();
  const collector = await discardingCollector();
  const flags = ['--backend', emu.url, '--host', '127.0.0.1', '--port', '0', '--grpc-port', '0', '--tokenizer-threads', '1', '--score-cache', 'off', '--coalesce-window-ms', '0'];
  const devNull = pino.destination({ dest: openSync('/dev/null', 'w'), sync: false });
  const configs: Array<{ name: string; sc: RunningSidecar; pool?: Pool }> = [
    { name: 'tracing off (default), log info', sc: await startSidecar(parseServeConfig(flags, {}), { log: createLogger('info', devNull) }) },
    {
      name: 'tracing on (OTLP/HTTP to a local collector), log info',
      sc: await startSidecar(parseServeConfig([...flags, '--otel-endpoint', collector.url], {}), { log: createLogger('info', devNull) }),
    },
    { name: 'tracing off, log debug (a line per request, to /dev/null)', sc: await startSidecar(parseServeConfig(flags, {}), { log: createLogger('debug', devNull) }) },
  ];
  for (const c of configs) c.pool = new Pool(c.sc.url, { connections: CONCURRENCY });
  const heap = configs[0]!.sc.metrics;
  // Warm-up: JIT, token caches, connections.
  for (const c of configs) await round(c.pool as Pool, 500);
  const results = configs.map(() => ({ rps: [] as number[], meanMs: [] as number[], bytes: [] as number[] }));
  for (let r = 0; r < ROUNDS; r++) {
    for (let k = 0; k < configs.length; k++) {
      const i = (r + k) % configs.length;
      const before = heap.heapStats().allocated_bytes;
      const out = await round(configs[i]!.pool as Pool, REQUESTS);
      const after = heap.heapStats().allocated_bytes;
      results[i]!.rps.push(out.rps);
      results[i]!.meanMs.push(out.meanMs);
      results[i]!.bytes.push((after - before) / REQUESTS);
    }
  }
  console.log(`node ${process.version}, ${ROUNDS} interleaved rounds x ${REQUESTS} requests, concurrency ${CONCURRENCY}, 10 text items per request, score cache and coalescing off`);
  console.log('');
  console.log('| configuration | req/s (median) | mean latency ms (median) | allocated bytes/request (median) |');
  console.log('| --- | ---: | ---: | ---: |');
  configs.forEach((c, i) => {
    const r = results[i]!;
    console.log(`| ${c.name} | ${median(r.rps).toFixed(0)} | ${median(r.meanMs).toFixed(3)} | ${median(r.bytes).toFixed(0)} |`);
  });
  console.log('');
  console.log(`per round req/s: ${configs.map((c, i) => `${c.name.split(',')[0]}: ${results[i]!.rps.map((x) => x.toFixed(0)).join(' ')}`).join('; ')}`);
  console.log(`OTLP exports received by the collector: ${collector.exports()}`);
  for (const c of configs) {
    await c.pool?.close();
    await c.sc.close();
  }
  collector.server.close();
  emu.stop();
  const iso = await isolated();
  console.log('');
  console.log('Observability work alone, per request (median of 7 interleaved rounds of 20,000):');
  console.log('');
  console.log('| | ns/request |');
  console.log('| --- | ---: |');
  console.log(`| tracing off: request id + null tests | ${iso.offNs.toFixed(0)} |`);
  console.log(`| tracing on: server span + 7 stage/call spans + traceparent, batching processor, export dropped | ${iso.onNs.toFixed(0)} |`);
}

void main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
