import { Client, Metadata, type ServiceError, credentials } from '@grpc/grpc-js';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pb } from '../../src/api/grpc/messages.js';
import type { RunningSidecar } from '../../src/sidecar.js';
import { type RecordedBackend, recordedEmulator, scoreCalls, sidecar } from './support.js';

let backend: RecordedBackend;
let sc: RunningSidecar;
let client: Client;
const exporter = new InMemorySpanExporter();

beforeAll(async () => {
  backend = await recordedEmulator();
  sc = await sidecar(backend.url, ['--coalesce-window-ms', '0', '--score-cache', 'off'], { spanExporter: exporter });
  client = new Client(sc.grpcAddress, credentials.createInsecure());
});

afterAll(async () => {
  client?.close();
  await sc?.close();
  await backend?.close();
});

/** One unary Score call with raw bytes: the status and the initial metadata's x-request-id. */
function score(bytes: Uint8Array, md: Metadata): Promise<{ err: ServiceError | null; requestId: string | undefined }> {
  return new Promise((resolve) => {
    let requestId: string | undefined;
    const call = client.makeUnaryRequest('/scorecar.v1.Scorer/Score', (b: Buffer) => b, (b: Buffer) => b, Buffer.from(bytes), md, (err) =>
      resolve({ err: err ?? null, requestId }),
    );
    call.on('metadata', (m: Metadata) => {
      requestId = m.get('x-request-id')[0] as string | undefined;
    });
  });
}

const REQUEST = pb.ScoreRequest.encode({ queryText: 'grpc query', itemTexts: { texts: ['a', 'b'] }, labelTokenIds: [9454, 2753], applySoftmax: true }).finish();

describe('gRPC x-request-id', () => {
  it('returns the client id in the initial metadata and sends it on to SGLang, traced under the client trace', async () => {
    exporter.reset();
    const md = new Metadata();
    md.set('x-request-id', 'grpc-1');
    md.set('traceparent', '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
    const r = await score(REQUEST, md);
    expect(r.err).toBeNull();
    expect(r.requestId).toBe('grpc-1');
    const seen = scoreCalls(backend).find((c) => c.headers['x-request-id'] === 'grpc-1');
    expect(String(seen?.headers.traceparent)).toMatch(/^00-0af7651916cd43dd8448eb211c80319c-/);
    const root = exporter.getFinishedSpans().find((s) => s.name === 'scorecar.v1.Scorer/Score');
    expect(root?.parentSpanContext?.spanId).toBe('b7ad6b7169203331');
    expect(root?.attributes['rpc.grpc.status_code']).toBe(0);
  });

  it('generates one for a call without (or with an invalid) id, failures included', async () => {
    const ok = await score(REQUEST, new Metadata());
    expect(ok.err).toBeNull();
    expect(ok.requestId).toMatch(/^sc-/);
    const md = new Metadata();
    md.set('x-request-id', 'bad id with spaces');
    const bad = await score(Buffer.from([0x0a, 0x7f, 0x01]), md);
    expect(bad.err?.code).toBe(3); // INVALID_ARGUMENT
    expect(bad.requestId).toMatch(/^sc-/);
  });
});
