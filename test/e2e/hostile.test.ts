import { type Socket, connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Proc, REJECTION_MARK, type Reply, call, postJson, rssOf, startEmulator, startScorecar } from './harness.js';

/**
 * Hostile bodies and clients against a real scorecar in front of the emulator: each gets a clear
 * 4xx or 408 within a stated bound, the process's RSS stays within a stated bound, and scorecar
 * is healthy and as fast as before afterwards. Bounds (README "Limits"):
 *  - a refusal of a body that arrived whole: within 20 s of sending it (it is 60 MB over loopback
 *    on a shared 2-core machine, three at once; the refusal itself is a scan that stops at item
 *    --max-items + 1);
 *  - a head or body that trickles: 408 within 3x (--headers-timeout-ms / --request-timeout-ms +
 *    node's 1 s check interval);
 *  - RSS growth: under 800 MB while three 60 MB bodies are held at once (they are buffered, up to
 *    --max-body-bytes each), and under 250 MB once they have been refused.
 */
let emulator: Proc;
let scorecar: Proc;
const HEADERS_TIMEOUT_MS = 1000;
const REQUEST_TIMEOUT_MS = 2000;
const MB = 1024 * 1024;

beforeAll(async () => {
  emulator = await startEmulator();
  scorecar = await startScorecar(
    [emulator.url],
    ['--headers-timeout-ms', String(HEADERS_TIMEOUT_MS), '--request-timeout-ms', String(REQUEST_TIMEOUT_MS)],
  );
});

afterAll(async () => {
  await scorecar?.stop();
  await emulator?.stop();
  // No promise rejection was left unhandled in either process, whatever the tests sent.
  expect(scorecar?.output() ?? '').not.toContain(REJECTION_MARK);
  expect(scorecar?.output() ?? '').not.toContain('unhandled promise rejection');
});

const GOOD = { query: 'python jobs\n', items: ['Python engineer', 'Chef'], label_token_ids: [9693, 2152] };
const GOOD_IDS = { query: [1, 2, 3], items: [[4, 5], [6]], label_token_ids: [9693, 2152] };

function envelope(r: Reply): { object: string; message: string; type: string; code: number } {
  return JSON.parse(r.text) as { object: string; message: string; type: string; code: number };
}

async function median(f: () => Promise<unknown>, n = 7): Promise<number> {
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await f();
    ms.push(performance.now() - t);
  }
  return ms.sort((a, b) => a - b)[n >> 1] as number;
}

const goodOnce = async (): Promise<void> => {
  const r = await postJson(scorecar.url, '/v1/score', GOOD);
  expect(r.status).toBe(200);
};

/** ~60 MB: {"query":[1,2,3],"items":[[],[],...]} with 20M empty items. */
function emptyItemsBody(items: number): Buffer {
  const head = Buffer.from('{"query":[1,2,3],"items":[');
  const tail = Buffer.from('],"label_token_ids":[9693,2152]}');
  const b = Buffer.allocUnsafe(head.length + 3 * items - 1 + tail.length);
  head.copy(b, 0);
  let p = head.length;
  for (let i = 0; i < items; i++) {
    if (i > 0) b[p++] = 0x2c;
    b[p++] = 0x5b;
    b[p++] = 0x5d;
  }
  tail.copy(b, p);
  return b;
}

/** A raw TCP client: writes what it is told, returns everything the server sends until it closes. */
function rawClient(url: string): { socket: Socket; closed: Promise<{ text: string; at: number }> } {
  const u = new URL(url);
  const socket = connect(Number(u.port), u.hostname);
  let text = '';
  socket.on('data', (c: Buffer) => (text += c.toString('latin1')));
  socket.on('error', () => {});
  const closed = new Promise<{ text: string; at: number }>((resolve) => socket.on('close', () => resolve({ text, at: performance.now() })));
  return { socket, closed };
}

let baselineMs = 0;

describe('hostile input', () => {
  it('takes a baseline', async () => {
    await goodOnce();
    baselineMs = await median(goodOnce);
  });

  it('refuses three 20M-empty-item bodies at once on /v1/score and on /rank, without parsing them', async () => {
    const body = emptyItemsBody(20_000_000);
    expect(body.length).toBeGreaterThan(55 * MB);
    const pid = scorecar.child.pid as number;
    const before = rssOf(pid);
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, rssOf(pid))), 50);
    try {
      for (const path of ['/v1/score', '/rank']) {
        const started = performance.now();
        const replies = await Promise.all([0, 1, 2].map(() => call(scorecar.url + path, 'POST', body)));
        const took = performance.now() - started;
        for (const r of replies) {
          expect(r.status, r.text).toBe(400);
          expect(envelope(r)).toMatchObject({ object: 'error', code: 400, message: 'Too many items: more than 10000 (scorecar --max-items)' });
        }
        expect(took).toBeLessThan(20_000);
      }
    } finally {
      clearInterval(sampler);
    }
    expect(peak - before).toBeLessThan(800 * MB);
    // The buffers are not kept: RSS comes back down once they are collected.
    let after = rssOf(pid);
    for (let i = 0; i < 40 && after - before >= 250 * MB; i++) {
      await new Promise((r) => setTimeout(r, 250));
      after = rssOf(pid);
    }
    expect(after - before).toBeLessThan(250 * MB);
    console.info(`hostile 60 MB bodies: RSS before ${(before / MB).toFixed(0)} MB, peak +${((peak - before) / MB).toFixed(0)} MB, after +${((after - before) / MB).toFixed(0)} MB`);
  }, 90_000);

  it('refuses deep nesting with a 400, not a 500', async () => {
    const deep = (n: number): string => '['.repeat(n) + ']'.repeat(n);
    for (const body of [
      `{"query":"a","items":${deep(200_000)},"label_token_ids":[1]}`,
      `{"query":"a","items":["b"],"label_token_ids":[1],"extra":${deep(200_000)}}`,
      `{"query":${deep(300)},"items":["b"],"label_token_ids":[1]}`,
    ]) {
      for (const path of ['/v1/score', '/rank']) {
        const r = await call(scorecar.url + path, 'POST', body);
        expect(r.status, `${path}: ${r.text.slice(0, 200)}`).toBe(400);
        expect(envelope(r)).toMatchObject({ object: 'error', code: 400 });
      }
    }
  });

  it('answers a Content-Length far above what is sent with 408, holding no buffer of that size', async () => {
    const pid = scorecar.child.pid as number;
    const before = rssOf(pid);
    const clients = [0, 1, 2, 3, 4].map(() => rawClient(scorecar.url));
    const started = performance.now();
    for (const { socket } of clients) {
      socket.write('POST /v1/score HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 60000000\r\n\r\n{"query":');
    }
    await new Promise((r) => setTimeout(r, 300));
    expect(rssOf(pid) - before).toBeLessThan(100 * MB);
    for (const { closed } of clients) {
      const { text, at } = await closed;
      expect(text).toMatch(/^HTTP\/1\.1 408/);
      expect(at - started).toBeLessThan(3 * (REQUEST_TIMEOUT_MS + 1000));
    }
  });

  it('answers a slowloris head and a slowloris body with 408 within the stated bound', async () => {
    const head = rawClient(scorecar.url);
    const body = rawClient(scorecar.url);
    const started = performance.now();
    head.socket.write('POST /v1/score HTTP/1.1\r\nHost: x\r\n');
    body.socket.write('POST /v1/score HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n');
    // One byte every 200 ms on each: never enough to finish in time.
    const drip = setInterval(() => {
      if (!head.socket.destroyed) head.socket.write('X');
      if (!body.socket.destroyed) body.socket.write(' ');
    }, 200);
    try {
      const h = await head.closed;
      expect(h.text).toMatch(/^HTTP\/1\.1 408/);
      expect(h.at - started).toBeLessThan(3 * (HEADERS_TIMEOUT_MS + 1000));
      const b = await body.closed;
      expect(b.text).toMatch(/^HTTP\/1\.1 408/);
      expect(b.at - started).toBeLessThan(3 * (REQUEST_TIMEOUT_MS + 1000));
    } finally {
      clearInterval(drip);
    }
  });

  it('refuses ids outside [0, vocab) before any backend call, and lets special tokens through', async () => {
    const bad = async (body: unknown, pattern: RegExp): Promise<void> => {
      const r = await postJson(scorecar.url, '/v1/score', body);
      expect(r.status, r.text).toBe(400);
      expect(envelope(r)).toMatchObject({ object: 'error', code: 400, message: expect.stringMatching(pattern) }); 
    };
    await bad({ ...GOOD_IDS, query: [1, -1] }, /^Input token id -1 is out of range \[0, 151936\)/);
    await bad({ ...GOOD_IDS, items: [[4], [2 ** 31 - 1]] }, /^Input token id 2147483647 is out of range/);
    await bad({ ...GOOD_IDS, items: [[4], [151936]] }, /^Input token id 151936 is out of range/);
    // 2^31 is no int32: refused as such before anything else.
    await bad({ ...GOOD_IDS, query: [2 ** 31] }, /32-bit integers/);
    // <|im_start|> (151644) and the last row of the embedding table are valid input.
    const ok = await postJson(scorecar.url, '/v1/score', { ...GOOD_IDS, query: [151644, 1, 151935] });
    expect(ok.status, ok.text).toBe(200);
    // /rank's ids go through the same check.
    const rank = await postJson(scorecar.url, '/rank', { query: 'q', items: [{ id: 'a', ids: [5, -7] }] });
    expect(rank.status, rank.text).toBe(400);
    expect(envelope(rank).message).toMatch(/^Input token id -7 is out of range/);
  });

  it('refuses a 1 MB query with 10,000 one-character items (about 10 GB of tokenizing) at once with 413', async () => {
    const body = { query: 'q'.repeat(1024 * 1024), items: Array.from({ length: 10_000 }, (_, i) => String.fromCharCode(97 + (i % 26))), label_token_ids: [9693, 2152] };
    const started = performance.now();
    const r = await postJson(scorecar.url, '/v1/score', body);
    expect(r.status, r.text.slice(0, 300)).toBe(413);
    expect(envelope(r).message).toMatch(/^Tokenizing work too large: \d+ bytes .* > 33554432 \(scorecar --max-tokenize-bytes\)/);
    expect(performance.now() - started).toBeLessThan(10_000);
  });

  it('is healthy afterwards, and its next requests are as fast as before (3x margin)', async () => {
    expect((await call(scorecar.url + '/health', 'GET')).status).toBe(200);
    await goodOnce();
    const after = await median(goodOnce);
    expect(after).toBeLessThan(3 * baselineMs + 20);
  });
});
