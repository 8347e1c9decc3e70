import { createHash } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Proc, call, postJson, startEmulator, startScorecar } from './harness.js';

/** Every other SGLang route passes through unchanged; streams stream; aborts propagate. */
let emulator: Proc;
let scorecar: Proc;

beforeAll(async () => {
  // 20 ms per decode step, so a 100-token stream lasts about two seconds.
  emulator = await startEmulator(['--cost', 'decodeStepUs=20000']);
  scorecar = await startScorecar([emulator.url]);
});

afterAll(async () => {
  await scorecar?.stop();
  await emulator?.stop();
});

interface Recorded {
  path: string;
  status: number;
  sha256: string;
  bytes: number;
}

async function lastRecorded(path: string): Promise<Recorded> {
  const recent = JSON.parse((await call(emulator.url + '/emulator/recent', 'GET')).text) as Recorded[];
  const hit = recent.filter((r) => r.path === path).pop();
  if (!hit) throw new Error(`no recorded ${path}`);
  return hit;
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

async function emulatorStats(): Promise<{ aborted_streams: number; active_streams: number }> {
  return JSON.parse((await call(emulator.url + '/emulator/stats', 'GET')).text) as { aborted_streams: number; active_streams: number };
}

describe('passthrough', () => {
  it('relays /generate byte for byte, with status and headers', async () => {
    const body = { input_ids: [[1, 2, 3], [4, 5]], sampling_params: { max_new_tokens: 0 }, return_logprob: true, token_ids_logprob: [9693, 2152] };
    const r = await postJson(scorecar.url, '/generate', body);
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('application/json');
    const rec = await lastRecorded('/generate');
    expect(rec.bytes).toBe(r.bytes.length);
    expect(rec.sha256).toBe(sha(r.bytes));
    const parsed = JSON.parse(r.text) as Array<{ meta_info: { output_token_ids_logprobs: unknown[] } }>;
    expect(parsed).toHaveLength(2);
  });

  it('relays /v1/models byte for byte', async () => {
    const r = await call(scorecar.url + '/v1/models', 'GET');
    expect(r.status).toBe(200);
    const rec = await lastRecorded('/v1/models');
    expect(rec.sha256).toBe(sha(r.bytes));
    expect(JSON.parse(r.text).data[0].owned_by).toBe('sglang');
  });

  it('relays errors and unknown routes unchanged', async () => {
    const bad = await postJson(scorecar.url, '/generate', { sampling_params: { max_new_tokens: 0 } });
    const direct = await postJson(emulator.url, '/generate', { sampling_params: { max_new_tokens: 0 } });
    expect(bad.status).toBe(400);
    expect(bad.text).toBe(direct.text);
    const missing = await call(scorecar.url + '/no/such/route', 'GET');
    expect(missing.status).toBe(404);
    expect(missing.text).toBe('{"detail":"Not Found"}');
    const wrongMethod = await call(scorecar.url + '/v1/score', 'GET');
    expect(wrongMethod.status).toBe(405);
  });

  it('streams SSE byte for byte: the first event arrives before the upstream has finished', async () => {
    const body = JSON.stringify({ text: 'Tell me a story', sampling_params: { max_new_tokens: 100 }, stream: true });
    const { events, raw, firstAt, doneAt, activeAtFirst } = await new Promise<{ events: string[]; raw: Buffer; firstAt: number; doneAt: number; activeAtFirst: number }>(
      (resolve, reject) => {
        const started = Date.now();
        const req = httpRequest(scorecar.url + '/generate', { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
          expect(res.headers['content-type']).toMatch(/text\/event-stream/);
          let buf = '';
          const chunks: Buffer[] = [];
          let firstAt = -1;
          let activeAtFirst = -1;
          res.on('data', (c: Buffer) => {
            chunks.push(c);
            buf += c.toString();
            if (firstAt < 0 && buf.includes('\n\n')) {
              firstAt = Date.now() - started;
              // While the client holds its first event, the upstream stream is still running.
              void emulatorStats().then((s) => (activeAtFirst = s.active_streams));
            }
          });
          res.on('end', () => {
            resolve({ events: buf.split('\n\n').filter((e) => e.length > 0), raw: Buffer.concat(chunks), firstAt, doneAt: Date.now() - started, activeAtFirst });
          });
        });
        req.on('error', reject);
        req.end(body);
      },
    );
    expect(events.length).toBe(101);
    expect(events[events.length - 1]).toBe('data: [DONE]');
    expect(JSON.parse((events[0] as string).slice(6)).meta_info.completion_tokens).toBe(1);
    expect(activeAtFirst).toBe(1);
    expect(firstAt).toBeLessThan(doneAt - 1000);
    // Every byte the upstream streamed reached the client unchanged (the emulator hashes its stream).
    const sent = await lastRecorded('/generate');
    expect({ bytes: raw.length, sha256: sha(raw) }).toEqual({ bytes: sent.bytes, sha256: sent.sha256 });
  }, 30_000);

  it('cancels the upstream call when the client goes away', async () => {
    const before = (await emulatorStats()).aborted_streams;
    await new Promise<void>((resolve, reject) => {
      const req = httpRequest(scorecar.url + '/generate', { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', (e) => (req.destroyed ? undefined : reject(e)));
      req.end(JSON.stringify({ text: 'A long story', sampling_params: { max_new_tokens: 500 }, stream: true }));
    });
    const deadline = Date.now() + 5000;
    let stats = await emulatorStats();
    while (stats.aborted_streams === before && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      stats = await emulatorStats();
    }
    expect(stats.aborted_streams).toBe(before + 1);
    expect(stats.active_streams).toBe(0);
  }, 30_000);

  it('keeps /health and /metrics for itself, with the backend metrics appended', async () => {
    expect((await call(scorecar.url + '/health', 'GET')).status).toBe(200);
    await postJson(scorecar.url, '/v1/score', { query: [1], items: [[2]], label_token_ids: [9693] });
    const m = await call(scorecar.url + '/metrics', 'GET');
    expect(m.status).toBe(200);
    expect(m.text).toMatch(/scorecar_stage_seconds_bucket\{[^}]*stage="backend"/);
    expect(m.text).toMatch(/scorecar_gc_pause_seconds|scorecar_heap_allocated_bytes_total/);
    expect(m.text).toMatch(new RegExp(`sglang:num_requests_total\\{backend="${emulator.url.replace(/[.:/]/g, '\\$&')}"`));
    // One HELP line per family, even with the backend's families merged in.
    const helps = m.text.split('\n').filter((l) => l.startsWith('# HELP '));
    expect(new Set(helps).size).toBe(helps.length);
  });
});
