import type { Server } from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Proc, call, startScorecar } from './harness.js';
import { startFakeSglang } from '../support/fake-sglang.js';

/**
 * The relay path (backend tokenizer differs, so the client's text request goes on unchanged)
 * answers from a pooled buffer. A client that pipelines requests and reads slowly must receive
 * exactly its own bytes: the buffer may go back to the pool only once the socket has written it.
 */
const ECHO_BYTES = 1 << 20;
let backend: Server;
let backendUrl: string;
let scorecar: Proc;

function reply(tag: string): string {
  const pad = tag.padEnd(32, '.');
  return JSON.stringify({ scores: [[0.25]], model: tag, echo: pad.repeat(ECHO_BYTES / pad.length), usage: null, object: 'scoring' });
}

beforeAll(async () => {
  // A tokenizer unlike scorecar's: text is relayed.
  const fake = await startFakeSglang({ modelPath: 'other/model', tokens: [1, 2, 3], score: (body) => ({ body: reply((JSON.parse(body) as { query: string }).query) }) });
  backend = fake.server;
  backendUrl = fake.url;
  scorecar = await startScorecar([backendUrl]);
});

afterAll(async () => {
  await scorecar?.stop();
  backend?.closeAllConnections();
  backend?.close();
});

function scoreRequest(tag: string, host: string): string {
  const body = JSON.stringify({ query: tag, items: ['item'], label_token_ids: [9693] });
  return `POST /v1/score HTTP/1.1\r\nhost: ${host}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

/** Splits pipelined HTTP/1.1 responses (content-length framed) into their bodies. */
function bodies(raw: Buffer): string[] {
  const out: string[] = [];
  let at = 0;
  while (at < raw.length) {
    const end = raw.indexOf('\r\n\r\n', at);
    if (end < 0) break;
    const head = raw.subarray(at, end).toString('latin1');
    const len = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? -1);
    if (len < 0 || end + 4 + len > raw.length) break;
    out.push(raw.subarray(end + 4, end + 4 + len).toString('utf8'));
    at = end + 4 + len;
  }
  return out;
}

describe('relay path', () => {
  it('a pipelining client that reads slowly gets exactly its own bytes while others are answered', async () => {
    const { hostname, port, host } = new URL(scorecar.url);
    const slowTags = ['slow-0', 'slow-1', 'slow-2', 'slow-3'];
    const socket = net.connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    let received = 0;
    await new Promise<void>((r) => socket.once('connect', () => r()));
    // Not reading: the replies back up in the kernel's and Node's buffers.
    socket.pause();
    socket.write(slowTags.map((t) => scoreRequest(t, host)).join(''));
    await new Promise((r) => setTimeout(r, 500));
    // Other clients' relayed answers, from the same buffer size class, meanwhile.
    for (let round = 0; round < 3; round++) {
      const fast = await Promise.all(Array.from({ length: 8 }, (_, i) => call(scorecar.url + '/v1/score', 'POST', JSON.stringify({ query: `fast-${round}-${i}`, items: ['item'], label_token_ids: [9693] }))));
      for (const [i, r] of fast.entries()) {
        expect(r.status).toBe(200);
        expect(r.text).toBe(reply(`fast-${round}-${i}`));
      }
    }
    socket.on('data', (c: Buffer) => {
      chunks.push(c);
      received += c.length;
    });
    socket.resume();
    const want = slowTags.length * reply('slow-0').length;
    const deadline = Date.now() + 20_000;
    while (received < want && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 100));
    socket.destroy();
    const got = bodies(Buffer.concat(chunks));
    expect(got.length).toBe(slowTags.length);
    for (const [i, b] of got.entries()) {
      // Compared by equality, not printed: a megabyte per body.
      expect(b === reply(slowTags[i] as string), `slow reply ${i} is its own`).toBe(true);
    }
  });
});
