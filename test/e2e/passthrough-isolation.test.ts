import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { type Proc, startEmulator, startScorecar } from './harness.js';

/**
 * Passed-through calls have a connection pool of their own: long SSE streams whose clients never
 * read cannot take the connections /v1/score needs.
 */
let emulator: Proc;
let scorecar: Proc;
const sockets: net.Socket[] = [];

beforeAll(async () => {
  // 20 ms per decode step: a 3,000-token stream lasts about a minute.
  emulator = await startEmulator(['--cost', 'decodeStepUs=20000']);
  scorecar = await startScorecar([emulator.url]);
});

afterAll(async () => {
  for (const s of sockets) s.destroy();
  await scorecar?.stop();
  await emulator?.stop();
});

describe('passthrough isolation', () => {
  it('70 long streams held by clients that never read do not stall /v1/score', async () => {
    const { hostname, port, host } = new URL(scorecar.url);
    const body = JSON.stringify({ text: 'Tell me a long story', sampling_params: { max_new_tokens: 3000, ignore_eos: true }, stream: true });
    const head = `POST /generate HTTP/1.1\r\nhost: ${host}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n`;
    for (let i = 0; i < 70; i++) {
      const s = net.connect(Number(port), hostname);
      s.on('error', () => undefined);
      s.pause(); // never reads
      s.write(head + body);
      sockets.push(s);
    }
    // Let the streams reach the backend and start.
    await new Promise((r) => setTimeout(r, 1500));
    // A stalled score would wait for a stream to end (about a minute); 15 s is a wide margin.
    for (let i = 0; i < 3; i++) {
      const r = await request(scorecar.url + '/v1/score', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: [1, 2, 3], items: [[4 + i], [5]], label_token_ids: [9693] }),
        headersTimeout: 15_000,
        bodyTimeout: 15_000,
      });
      expect(r.statusCode).toBe(200);
      const v = (await r.body.json()) as { scores: number[][] };
      expect(v.scores).toHaveLength(2);
    }
  });
});
