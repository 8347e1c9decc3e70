import { type IncomingHttpHeaders, type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tracesUrl, tracingEndpoint, tracingServiceName } from '../../src/observe/tracing.js';
import type { RunningSidecar } from '../../src/sidecar.js';
import { startRecordingUpstream } from '../support/recording-upstream.js';
import { type RecordedBackend, SCORE_BODY, captureLogger, get, post, recordedEmulator, scoreCalls, sidecar } from './support.js';

const CLIENT_TRACE = '0af7651916cd43dd8448eb211c80319c';
const CLIENT_SPAN = 'b7ad6b7169203331';
const CLIENT_TRACEPARENT = `00-${CLIENT_TRACE}-${CLIENT_SPAN}-01`;

function parsedTraceparent(h: IncomingHttpHeaders): { traceId: string; spanId: string } | null {
  const m = /^00-([0-9a-f]{32})-([0-9a-f]{16})-0[01]$/.exec(String(h.traceparent ?? ''));
  return m ? { traceId: m[1] as string, spanId: m[2] as string } : null;
}

describe('tracing endpoint', () => {
  it('is off unless a flag or the OpenTelemetry env names one', () => {
    expect(tracingEndpoint(null, {})).toBeNull();
    expect(tracingEndpoint('http://c:4318', {})).toBe('http://c:4318/v1/traces');
    expect(tracingEndpoint(null, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318/' })).toBe('http://c:4318/v1/traces');
    expect(tracingEndpoint(null, { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://c:4318/custom' })).toBe('http://c:4318/custom');
    expect(tracingEndpoint('http://c:4318', { OTEL_SDK_DISABLED: 'true' })).toBeNull();
    expect(tracesUrl('http://c:4318/v1/traces')).toBe('http://c:4318/v1/traces');
  });

  it('names the service by flag, else OTEL_SERVICE_NAME, else scorecar', () => {
    expect(tracingServiceName('ranker', { OTEL_SERVICE_NAME: 'env' })).toBe('ranker');
    expect(tracingServiceName('scorecar', { OTEL_SERVICE_NAME: 'env' })).toBe('env');
    expect(tracingServiceName(null, {})).toBe('scorecar');
  });
});

describe('tracing on (in-memory exporter)', () => {
  let backend: RecordedBackend;
  let sc: RunningSidecar;
  const exporter = new InMemorySpanExporter();

  beforeAll(async () => {
    backend = await recordedEmulator();
    sc = await sidecar(backend.url, ['--coalesce-window-ms', '0'], { spanExporter: exporter });
  });

  afterAll(async () => {
    await sc?.close();
    await backend?.close();
  });

  const spansOf = (traceId: string): ReadableSpan[] => exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
  const parentOf = (s: ReadableSpan): string | undefined => s.parentSpanContext?.spanId;

  it('/v1/score: a server span continuing the client trace, stage spans under it, traceparent on to the backend', async () => {
    exporter.reset();
    const r = await post(`${sc.url}/v1/score`, SCORE_BODY, { traceparent: CLIENT_TRACEPARENT, 'x-request-id': 'traced-1' });
    expect(r.status).toBe(200);
    await new Promise((res) => setTimeout(res, 20));
    const spans = spansOf(CLIENT_TRACE);
    const root = spans.find((s) => s.name === 'POST /v1/score');
    expect(root).toBeDefined();
    expect(parentOf(root as ReadableSpan)).toBe(CLIENT_SPAN);
    expect(root?.attributes).toMatchObject({ 'http.route': '/v1/score', 'http.response.status_code': 200, 'scorecar.items': 3, 'scorecar.request_id': 'traced-1' });
    const rootId = root?.spanContext().spanId;
    const children = spans.filter((s) => parentOf(s) === rootId).map((s) => s.name);
    for (const stage of ['cache lookup', 'tokenize', 'shaper queue', 'dispatch', 'backend score', 'cache store', 'merge']) expect(children).toContain(stage);
    // Stage spans lie within the request's span.
    const t = (h: [number, number]): number => h[0] * 1e9 + h[1];
    for (const s of spans.filter((x) => parentOf(x) === rootId)) {
      expect(t(s.startTime)).toBeGreaterThanOrEqual(t((root as ReadableSpan).startTime) - 1e6);
      expect(t(s.endTime)).toBeLessThanOrEqual(t((root as ReadableSpan).endTime) + 1e6);
    }
    const call = spans.find((s) => s.name === 'backend score');
    const seen = scoreCalls(backend).filter((c) => c.headers['x-request-id'] === 'traced-1');
    expect(seen).toHaveLength(1);
    expect(parsedTraceparent(seen[0]!.headers)).toEqual({ traceId: CLIENT_TRACE, spanId: call?.spanContext().spanId });
  });

  it('/rank: its own server span with the pipeline stages under it', async () => {
    exporter.reset();
    const r = await post(`${sc.url}/rank`, { query: 'q', items: [{ id: 'a', text: 'one' }, { id: 'b', text: 'two' }] }, { traceparent: CLIENT_TRACEPARENT });
    expect(r.status).toBe(200);
    await new Promise((res) => setTimeout(res, 20));
    const spans = spansOf(CLIENT_TRACE);
    const root = spans.find((s) => s.name === 'POST /rank');
    expect(root?.attributes['http.route']).toBe('/rank');
    const children = spans.filter((s) => parentOf(s) === root?.spanContext().spanId).map((s) => s.name);
    expect(children).toEqual(expect.arrayContaining(['tokenize', 'shaper queue', 'dispatch', 'backend score']));
  });

  it('a request without traceparent starts a new trace', async () => {
    exporter.reset();
    await post(`${sc.url}/v1/score`, SCORE_BODY, { 'x-request-id': 'traced-2' });
    await new Promise((res) => setTimeout(res, 20));
    const root = exporter.getFinishedSpans().find((s) => s.name === 'POST /v1/score');
    expect(root?.parentSpanContext).toBeUndefined();
    expect(root?.spanContext().traceId).not.toBe(CLIENT_TRACE);
  });

  it('passthrough: server span and a client span whose traceparent the backend gets', async () => {
    exporter.reset();
    const r = await get(`${sc.url}/v1/models`, { traceparent: CLIENT_TRACEPARENT, 'x-request-id': 'pt-traced' });
    expect(r.status).toBe(200);
    await new Promise((res) => setTimeout(res, 20));
    const spans = spansOf(CLIENT_TRACE);
    const root = spans.find((s) => s.name === 'GET passthrough');
    expect(parentOf(root as ReadableSpan)).toBe(CLIENT_SPAN);
    const call = spans.find((s) => s.name === 'backend passthrough');
    expect(parentOf(call as ReadableSpan)).toBe(root?.spanContext().spanId);
    const seen = backend.calls.find((c) => c.path === '/v1/models' && c.headers['x-request-id'] === 'pt-traced');
    expect(parsedTraceparent(seen!.headers)).toEqual({ traceId: CLIENT_TRACE, spanId: call?.spanContext().spanId });
  });

  it('an error answer ends its span with the status', async () => {
    exporter.reset();
    const r = await post(`${sc.url}/v1/score`, '{"query":', { traceparent: CLIENT_TRACEPARENT });
    expect(r.status).toBe(400);
    await new Promise((res) => setTimeout(res, 20));
    const root = spansOf(CLIENT_TRACE).find((s) => s.name === 'POST /v1/score');
    expect(root?.attributes['http.response.status_code']).toBe(400);
  });
});

describe('a relayed request (backend without /tokenize: text goes as sent)', () => {
  it('carries the request id and its backend span traceparent', async () => {
    const exporter = new InMemorySpanExporter();
    const upstream = await startRecordingUpstream();
    const sc = await sidecar(upstream.url, [], { spanExporter: exporter });
    try {
      const r = await post(`${sc.url}/v1/score`, SCORE_BODY, { traceparent: CLIENT_TRACEPARENT, 'x-request-id': 'relayed-1' });
      expect(r.status).toBe(200);
      expect(r.headers['x-scorecar-relayed']).toBe('tokenizer-mismatch');
      expect(r.headers['x-request-id']).toBe('relayed-1');
      await new Promise((res) => setTimeout(res, 20));
      const call = exporter.getFinishedSpans().find((s) => s.name === 'backend score');
      expect(call?.attributes['scorecar.relayed']).toBe('tokenizer-mismatch');
      const seen = upstream.calls.find((c) => c.path === '/v1/score' && c.requestId === 'relayed-1');
      expect(seen?.traceparent).toBe(`00-${CLIENT_TRACE}-${call?.spanContext().spanId}-01`);
    } finally {
      await sc.close();
      await upstream.close();
    }
  });
});

describe('sampling (--otel-sample-ratio 0)', () => {
  it("records no new traces, yet follows a client's sampled traceparent", async () => {
    const exporter = new InMemorySpanExporter();
    const backend = await recordedEmulator();
    const sc = await sidecar(backend.url, ['--otel-sample-ratio', '0', '--coalesce-window-ms', '0'], { spanExporter: exporter });
    try {
      await post(`${sc.url}/v1/score`, SCORE_BODY, { 'x-request-id': 'unsampled' });
      await new Promise((res) => setTimeout(res, 20));
      expect(exporter.getFinishedSpans()).toHaveLength(0);
      expect(scoreCalls(backend).find((c) => c.headers['x-request-id'] === 'unsampled')?.headers.traceparent).toBeUndefined();
      await post(`${sc.url}/v1/score`, SCORE_BODY, { traceparent: CLIENT_TRACEPARENT });
      await new Promise((res) => setTimeout(res, 20));
      expect(exporter.getFinishedSpans().some((s) => s.name === 'POST /v1/score' && s.spanContext().traceId === CLIENT_TRACE)).toBe(true);
    } finally {
      await sc.close();
      await backend.close();
    }
  });
});

/** A minimal OTLP/HTTP receiver: keeps each POST to /v1/traces (JSON, as the exporter sends it). */
async function otlpReceiver(): Promise<{ url: string; bodies: Array<{ contentType: string; json: unknown }>; close(): Promise<void> }> {
  const bodies: Array<{ contentType: string; json: unknown }> = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.url === '/v1/traces' && req.method === 'POST') {
        const contentType = String(req.headers['content-type']);
        bodies.push({ contentType, json: JSON.parse(Buffer.concat(chunks).toString()) });
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    bodies,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
}

describe('tracing on (the real OTLP/HTTP exporter)', () => {
  it('exports the request and stage spans to the collector named by --otel-endpoint, with the service name', async () => {
    const receiver = await otlpReceiver();
    const backend = await recordedEmulator();
    const sc = await sidecar(backend.url, ['--otel-endpoint', receiver.url, '--otel-service-name', 'scorecar-test', '--coalesce-window-ms', '0']);
    try {
      expect(sc.observe.tracing).not.toBeNull();
      const r = await post(`${sc.url}/v1/score`, SCORE_BODY, { traceparent: CLIENT_TRACEPARENT });
      expect(r.status).toBe(200);
    } finally {
      await sc.close(); // flushes the batch processor
      await backend.close();
      await receiver.close();
    }
    expect(receiver.bodies.length).toBeGreaterThan(0);
    expect(receiver.bodies[0]?.contentType).toMatch(/application\/json/);
    const resourceSpans = receiver.bodies.flatMap((b) => (b.json as { resourceSpans: Array<{ resource: { attributes: Array<{ key: string; value: { stringValue?: string } }> }; scopeSpans: Array<{ spans: OtlpSpan[] }> }> }).resourceSpans);
    const service = resourceSpans[0]?.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue;
    expect(service).toBe('scorecar-test');
    const spans = resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans));
    // OTLP JSON carries ids as hex strings.
    const root = spans.find((s) => s.name === 'POST /v1/score');
    expect(root?.traceId.toLowerCase()).toBe(CLIENT_TRACE);
    expect(root?.parentSpanId?.toLowerCase()).toBe(CLIENT_SPAN);
    const stages = spans.filter((s) => s.parentSpanId === root?.spanId).map((s) => s.name);
    expect(stages).toEqual(expect.arrayContaining(['tokenize', 'shaper queue', 'dispatch', 'backend score', 'merge']));
  });
});

describe('a collector that refuses exports', () => {
  it('is reported in the log at warn (rate-limited), and requests are answered as ever', async () => {
    const refusing = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end('{"code":3,"message":"refused"}');
      });
    });
    await new Promise<void>((resolve) => refusing.listen(0, '127.0.0.1', () => resolve()));
    const backend = await recordedEmulator();
    const cap = captureLogger('info');
    const sc = await sidecar(backend.url, ['--otel-endpoint', `http://127.0.0.1:${(refusing.address() as AddressInfo).port}`], { log: cap.log });
    try {
      expect((await post(`${sc.url}/v1/score`, SCORE_BODY)).status).toBe(200);
    } finally {
      await sc.close();
      await backend.close();
      await new Promise<void>((resolve) => refusing.close(() => resolve()));
    }
    const warn = cap.lines.lines.find((l) => String(l.msg).startsWith('trace export failed'));
    expect(warn?.level).toBe('warn');
  });
});

describe('tracing off (the default)', () => {
  it('has no tracer, exports nothing, and the client traceparent still reaches the backend unchanged', async () => {
    const receiver = await otlpReceiver();
    const backend = await recordedEmulator();
    const sc = await sidecar(backend.url, ['--coalesce-window-ms', '0']);
    try {
      expect(sc.observe.tracing).toBeNull();
      await post(`${sc.url}/v1/score`, SCORE_BODY, { traceparent: CLIENT_TRACEPARENT, 'x-request-id': 'off-1' });
      const seen = scoreCalls(backend).find((c) => c.headers['x-request-id'] === 'off-1');
      expect(seen?.headers.traceparent).toBe(CLIENT_TRACEPARENT);
    } finally {
      await sc.close();
      await backend.close();
      await receiver.close();
    }
    expect(receiver.bodies).toHaveLength(0);
  });
});
