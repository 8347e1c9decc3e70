import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Metadata, credentials, makeGenericClientConstructor, type ServiceError, status as Status } from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';
import protobuf from 'protobufjs';
import descriptor from 'protobufjs/ext/descriptor.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ScorerClient, ScorerError, packTokenIds, scoreRows } from '../../src/client/index.js';
import type { ScoreRequestInit } from '../../src/client/index.js';
import { venvPython } from '../support/python.js';
import { mulberry32, randomIds, randomText } from '../support/random-texts.js';
import { type Proc, call, postJson, startEmulator, startScorecar, startScorecarWithGrpc } from './harness.js';
import { startFakeSglang } from '../support/fake-sglang.js';

/**
 * The gRPC Scorer end to end, with real clients on loopback: Score and Rank answer what the HTTP
 * API answers for the same requests, the stream carries concurrent requests answered out of
 * order, health and reflection work, and a Python client (the project venv's grpcio, stubs
 * generated from the proto by grpc-tools at test time) gets the same scores.
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

interface Body {
  query: string | number[];
  items: string[] | number[][];
  label_token_ids: number[];
  apply_softmax?: boolean;
  item_first?: boolean;
  model?: string;
}

/** Varied SGLang bodies: text (multilingual, item_first, models) and ids, 1-30 items. */
function bodies(seed: number, count: number): Body[] {
  const rnd = mulberry32(seed);
  const labelSets = [[9693, 2152], [9454, 2753], [9693], [2152, 9693, 9454]];
  return Array.from({ length: count }, (_, r) => {
    const n = 1 + Math.floor(rnd() * 30);
    const b: Body =
      r % 2 === 0
        ? { query: randomText(rnd, 6), items: Array.from({ length: n }, () => randomText(rnd, 10)), label_token_ids: labelSets[r % 4] as number[] }
        : { query: randomIds(rnd, 40), items: Array.from({ length: n }, () => randomIds(rnd, 80)), label_token_ids: labelSets[r % 4] as number[] };
    if (r % 3 === 0) b.apply_softmax = true;
    if (r % 5 === 1) b.item_first = true;
    if (r % 7 === 2) b.model = 'ränker-🙂';
    return b;
  });
}

/** The same request as a ScoreRequest; id items alternate item_ids and item_packed_ids. */
function toGrpc(b: Body, packed: boolean): ScoreRequestInit {
  const common = { labelTokenIds: b.label_token_ids, applySoftmax: b.apply_softmax === true, itemFirst: b.item_first === true, model: b.model ?? '' };
  if (typeof b.query === 'string') return { ...common, queryText: b.query, itemTexts: { texts: b.items as string[] } };
  const items = b.items as number[][];
  return packed
    ? { ...common, queryIds: { ids: b.query }, itemPackedIds: packTokenIds(items) }
    : { ...common, queryIds: { ids: b.query }, itemIds: { items: items.map((ids) => ({ ids })) } };
}

const procs: Proc[] = [];
let emulator: Proc;
let scorecar: Proc & { grpc: string };
let client: ScorerClient;
/** Score cache off: every gRPC and HTTP answer below is computed by its own path, never read back. */
let uncached: Proc & { grpc: string };
let uncachedClient: ScorerClient;

beforeAll(async () => {
  emulator = await startEmulator();
  procs.push(emulator);
  scorecar = await startScorecarWithGrpc([emulator.url]);
  procs.push(scorecar);
  client = new ScorerClient(scorecar.grpc);
  uncached = await startScorecarWithGrpc([emulator.url], ['--score-cache', 'off']);
  procs.push(uncached);
  uncachedClient = new ScorerClient(uncached.grpc);
});

afterAll(async () => {
  client?.close();
  uncachedClient?.close();
  for (const p of procs.reverse()) await p.stop();
});

describe('Scorer.Score', () => {
  it('answers what HTTP /v1/score and SGLang answer, for text, token ids and packed ids', async () => {
    for (const [r, b] of bodies(11, 24).entries()) {
      const got = await uncachedClient.score(toGrpc(b, r % 4 === 1));
      const http = await postJson(uncached.url, '/v1/score', b);
      expect(http.status).toBe(200);
      expect(http.headers['x-scorecar-cache-hits']).toBe('0');
      const viaHttp = JSON.parse(http.text) as { scores: number[][]; model: string };
      const direct = JSON.parse((await postJson(emulator.url, '/v1/score', b)).text) as { scores: number[][] };
      expect(scoreRows(got), `request ${r}`).toEqual(viaHttp.scores);
      expect(scoreRows(got), `request ${r} (direct)`).toEqual(direct.scores);
      expect(got.nLabels).toBe(b.label_token_ids.length);
      expect(got.model).toBe(viaHttp.model);
      expect(got.timing.items).toBe(b.items.length);
      expect(got.timing.cacheHits).toBe(0);
    }
  });

  it('shares the score cache with HTTP: what one path scored is a hit for the other', async () => {
    for (const [r, b] of bodies(13, 6).entries()) {
      const http = await postJson(scorecar.url, '/v1/score', b);
      expect(http.headers['x-scorecar-cache-hits']).toBe('0');
      const got = await client.score(toGrpc(b, r % 2 === 1));
      expect(got.timing.cacheHits).toBe(b.items.length);
      expect(scoreRows(got)).toEqual((JSON.parse(http.text) as { scores: number[][] }).scores);
    }
  });

  it('reports its timing as trailing metadata and scores cold requests like HTTP', async () => {
    const b: Body = { query: 'Search query: remote python jobs\n', items: ['Title: Senior Python Engineer (remote)', 'Title: Pastry Chef, Lyon'], label_token_ids: [9693, 2152], apply_softmax: true };
    const got = await client.score(toGrpc(b, false));
    expect(got.timing.cacheHits).toBe(0);
    expect(got.timing.totalMs).toBeGreaterThan(0);
    expect(got.timing.backendMs).toBeGreaterThan(0);
    expect(got.promptTokens).toBeGreaterThan(0);
    const http = await postJson(scorecar.url, '/v1/score', b);
    expect(http.headers['x-scorecar-cache-hits']).toBe('2');
    expect(scoreRows(got)).toEqual((JSON.parse(http.text) as { scores: number[][] }).scores);
  });

  it('answers an empty item list with no scores, as SGLang does', async () => {
    const got = await client.score({ queryIds: { ids: [1, 2] }, itemPackedIds: { ids: [], lengths: [] }, labelTokenIds: [9693, 2152] });
    expect(got.scores).toEqual([]);
    expect(got.nLabels).toBe(2);
  });
});

describe('Scorer.Rank', () => {
  it('answers what HTTP /rank answers (then from the shared score cache)', async () => {
    const items = Array.from({ length: 24 }, (_, i) =>
      i % 3 === 0
        ? { id: `job-${i}`, text: `Title: Engineer ${i}\nDescription:\nBuild things.` }
        : i % 3 === 1
          ? { id: `job-${i}`, fields: { title: `Analyst ${i}`, company: 'Acme', location: 'Zürich', employment_type: 'Full-time', remote: i % 2 === 0, description: 'Numbers.' } }
          : { id: `job-${i}`, ids: [1000 + i, 2000 + i, 3000] },
    );
    const query = 'data jobs near Zürich';
    const grpcItems = items.map((it) =>
      'text' in it
        ? { id: it.id, text: it.text }
        : 'ids' in it
          ? { id: it.id, ids: { ids: it.ids } }
          : {
              id: it.id,
              fields: { title: it.fields.title, company: it.fields.company, location: it.fields.location, employmentType: it.fields.employment_type, remoteFlag: it.fields.remote, description: it.fields.description },
            },
    );
    const got = await client.rank({ queryText: query, items: grpcItems, depth: 18, topK: 10 });
    expect(got.depth).toBe(18);
    expect(got.results).toHaveLength(10);
    expect(got.unscored).toEqual(items.slice(18).map((it) => it.id));
    expect(got.results.every((r) => !r.cached)).toBe(true);
    expect(got.timing.items).toBe(18);
    const http = await postJson(scorecar.url, '/rank', { query, items, depth: 18, top_k: 10 });
    expect(http.status).toBe(200);
    const viaHttp = JSON.parse(http.text) as { results: Array<{ id: string; score: number; cached: boolean }>; unscored: string[]; depth: number; cache_hits: number; model: string };
    expect(got.results.map((r) => [r.id, r.score])).toEqual(viaHttp.results.map((r) => [r.id, r.score]));
    expect(viaHttp.results.every((r) => r.cached)).toBe(true);
    expect(viaHttp.cache_hits).toBe(18);
    expect(got.unscored).toEqual(viaHttp.unscored);
    expect(got.model).toBe(viaHttp.model);
  });
});

describe('Scorer.ScoreStream', () => {
  it('carries concurrent requests on several streams, each answered once with its own scores', async () => {
    const reqs = bodies(23, 60);
    const expected = await Promise.all(reqs.map((b, r) => client.score(toGrpc(b, r % 2 === 0))));
    const streams = Array.from({ length: 4 }, () => client.stream({ deadlineMs: 30_000 }));
    const answers = await Promise.all(reqs.map((b, r) => (streams[r % 4] as ReturnType<ScorerClient['stream']>).score(toGrpc(b, r % 2 === 1))));
    answers.forEach((a, r) => expect(a.scores, `request ${r}`).toEqual((expected[r] as { scores: number[] }).scores));
    await Promise.all(streams.map((s) => s.end()));
    expect(streams.every((s) => s.inFlight === 0)).toBe(true);
  });

  it('answers out of order: cached requests overtake a slow one sent first', async () => {
    const warm = bodies(31, 5).map((b) => toGrpc(b, true));
    await Promise.all(warm.map((r) => client.score(r)));
    await postJson(emulator.url, '/emulator/faults', { extraLatencyMs: 400 });
    try {
      const s = client.stream();
      const order: string[] = [];
      const cold = s.score({ queryIds: { ids: [7, 7, 7] }, itemIds: { items: [{ ids: [99, 98] }] }, labelTokenIds: [9693] }).then(() => order.push('cold'));
      const hits = warm.map((r, k) => s.score(r).then(() => order.push(`warm-${k}`)));
      await Promise.all([cold, ...hits]);
      await s.end();
      expect(order[order.length - 1]).toBe('cold');
      expect(order.slice(0, 5).sort()).toEqual(['warm-0', 'warm-1', 'warm-2', 'warm-3', 'warm-4']);
    } finally {
      await postJson(emulator.url, '/emulator/faults', { extraLatencyMs: 0 });
    }
  });
});

describe('standard services', () => {
  it('reports SERVING through grpc.health.v1.Health', async () => {
    const Health = makeGenericClientConstructor(healthService, 'Health');
    const h = new Health(scorecar.grpc, credentials.createInsecure());
    const check = (service: string): Promise<{ status?: string } | ServiceError> =>
      new Promise((resolve) => (h as unknown as { Check: (req: object, cb: (e: ServiceError | null, r: { status?: string }) => void) => void }).Check({ service }, (e, r) => resolve(e ?? r)));
    expect(await check('')).toMatchObject({ status: 'SERVING' });
    expect(await check('scorecar.v1.Scorer')).toMatchObject({ status: 'SERVING' });
    expect(await check('no.such.Service')).toMatchObject({ code: 5 });
    h.close();
  });

  it('describes the Scorer through server reflection', async () => {
    const root = protobuf.loadSync(join(ROOT, 'node_modules/@grpc/reflection/build/proto/grpc/reflection/v1/reflection.proto'));
    const Req = root.lookupType('grpc.reflection.v1.ServerReflectionRequest');
    const Res = root.lookupType('grpc.reflection.v1.ServerReflectionResponse');
    const c = new Client(scorecar.grpc, credentials.createInsecure());
    const ask = (req: object): Promise<Record<string, unknown>> =>
      new Promise((resolve, reject) => {
        const s = c.makeBidiStreamRequest(
          '/grpc.reflection.v1.ServerReflection/ServerReflectionInfo',
          (m: object) => Buffer.from(Req.encode(Req.fromObject(m)).finish()),
          (b: Buffer) => Res.toObject(Res.decode(b), { bytes: Array }) as Record<string, unknown>,
          new Metadata(),
        );
        s.on('data', resolve);
        s.on('error', reject);
        s.write(req);
        s.end();
      });
    const list = (await ask({ listServices: '' })).listServicesResponse as { service: Array<{ name: string }> };
    expect(list.service.map((x) => x.name)).toEqual(expect.arrayContaining(['scorecar.v1.Scorer', 'grpc.health.v1.Health']));
    const file = (await ask({ fileContainingSymbol: 'scorecar.v1.Scorer' })).fileDescriptorResponse as { fileDescriptorProto: number[][] };
    const fd = descriptor.FileDescriptorProto.decode(Uint8Array.from(file.fileDescriptorProto[0] as number[]));
    expect(fd.name).toBe('scorecar/v1/scorer.proto');
    expect(fd.package).toBe('scorecar.v1');
    const svc = fd.service?.find((x: { name?: string | null }) => x.name === 'Scorer');
    expect(svc?.method?.map((m: { name?: string | null; clientStreaming?: boolean | null; serverStreaming?: boolean | null }) => [m.name, m.clientStreaming === true, m.serverStreaming === true])).toEqual([
      ['Score', false, false],
      ['Rank', false, false],
      ['ScoreStream', true, true],
    ]);
    c.close();
  });

  it('counts gRPC requests and items in /metrics like HTTP routes', async () => {
    await expect(client.score({ queryText: 'q', itemTexts: { texts: ['a'] } })).rejects.toMatchObject({ code: 3 });
    const text = (await call(scorecar.url + '/metrics', 'GET')).text;
    expect(text).toMatch(/scorecar_requests_total\{route="grpc.Score",code="0"\} \d+/);
    expect(text).toMatch(/scorecar_requests_total\{route="grpc.ScoreStream",code="0"\} \d+/);
    expect(text).toMatch(/scorecar_requests_total\{route="grpc.Rank",code="0"\} 1/);
    expect(text).toMatch(/scorecar_items_total\{route="grpc.Rank"\} 18/);
    expect(text).toMatch(/scorecar_requests_total\{route="grpc.Score",code="3"\} \d+/);
  });
});

describe('a Python client', () => {
  it('scores through scorecar with stubs generated from the proto at test time, as HTTP does', async () => {
    const reqs = bodies(47, 12);
    const dir = mkdtempSync(join(tmpdir(), 'scorecar-py-'));
    try {
      const file = join(dir, 'requests.json');
      writeFileSync(file, JSON.stringify(reqs));
      const out = await new Promise<string>((resolve, reject) => {
        const child = spawn(venvPython(), ['test/python/grpc_score_client.py', '--target', uncached.grpc, '--proto-root', 'proto', '--requests', file], { cwd: ROOT });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
        child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
        child.on('error', reject);
        child.on('exit', (code) =>
          code === 0
            ? resolve(stdout)
            : reject(new Error(`python client exited ${code} (${venvPython()}, the project venv from patches/env/venv.sh): ${stderr}`)),
        );
      });
      const py = JSON.parse(out) as {
        unary: Array<{ scores: number[][]; model: string; metadata: Record<string, string> }>;
        stream: Array<{ scores: number[][]; items: number }>;
        invalid: { code: string; details: string };
      };
      // Score cache off: the stream, unary and HTTP answers are each computed, not read back.
      for (const [r, b] of reqs.entries()) {
        const http = await postJson(uncached.url, '/v1/score', b);
        const viaHttp = JSON.parse(http.text) as { scores: number[][]; model: string };
        expect(py.unary[r]?.scores, `request ${r}`).toEqual(viaHttp.scores);
        expect(py.stream[r]?.scores, `request ${r} (stream)`).toEqual(viaHttp.scores);
        expect(py.unary[r]?.model).toBe(viaHttp.model);
        expect(py.unary[r]?.metadata['x-scorecar-items']).toBe(String(b.items.length));
        expect(py.stream[r]?.items).toBe(b.items.length);
      }
      expect(py.invalid).toEqual({ code: 'INVALID_ARGUMENT', details: 'label_token_ids is required for generation (CausalLM) models.' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** An SGLang stand-in whose tokenizer differs from scorecar's; it records the /v1/score bodies. */
async function otherTokenizerBackend(): Promise<{ url: string; server: Server; bodies: string[] }> {
  const bodies: string[] = [];
  const fake = await startFakeSglang({
    modelPath: 'other/model',
    version: 'fake',
    tokens: [1, 2, 3],
    score: (body) => {
      bodies.push(body);
      const b = JSON.parse(body) as { query: unknown; items: unknown[]; label_token_ids: number[] };
      if (b.query === 'too long') return { status: 400, body: { object: 'error', message: 'The input (5000 tokens) is longer than the model\'s context length (4096 tokens).', type: 'BadRequestError', param: null, code: 400 } };
      return { body: { scores: b.items.map((_, i) => b.label_token_ids.map((_, j) => i + j / 4)), model: 'm', usage: { prompt_tokens: 9 }, object: 'scoring' } };
    },
  });
  return { ...fake, bodies };
}

describe('a backend that tokenizes differently', () => {
  it('gets gRPC text requests as the SGLang JSON they stand for, and its answers come back', async () => {
    const backend = await otherTokenizerBackend();
    const sc = await startScorecar([backend.url]);
    procs.push(sc);
    const grpc = /gRPC Scorer API on (\S+)/.exec(sc.output())?.[1] as string;
    const c = new ScorerClient(grpc);
    try {
      const r = await c.score({ queryText: 'q "ü" ', itemTexts: { texts: ['a\nb', '🙂'] }, labelTokenIds: [9693, 2152], applySoftmax: true, model: 'x' });
      expect(JSON.parse(backend.bodies.at(-1) as string)).toEqual({
        query: 'q "ü" ',
        items: ['a\nb', '🙂'],
        label_token_ids: [9693, 2152],
        apply_softmax: true,
        item_first: false,
        model: 'x',
      });
      expect(scoreRows(r)).toEqual([
        [0, 0.25],
        [1, 1.25],
      ]);
      expect(r.promptTokens).toBe(9);
      const e = await c.score({ queryText: 'too long', itemTexts: { texts: ['a'] }, labelTokenIds: [9693] }).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(ScorerError);
      expect(e).toMatchObject({ code: Status.INVALID_ARGUMENT, details: expect.stringMatching(/^backend answered 400: The input \(5000 tokens\) is longer/) });
    } finally {
      c.close();
      backend.server.close();
    }
  });
});
