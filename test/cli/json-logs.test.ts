import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Proc, call, startEmulator, startScorecar } from '../e2e/harness.js';

/**
 * The built CLI as an operator runs it: everything `serve` and `emulate` print while running is
 * a JSON log line (level, time, msg), and a request's lines carry its id.
 */
let emulator: Proc;
let scorecar: Proc;

beforeAll(async () => {
  emulator = await startEmulator();
  scorecar = await startScorecar([emulator.url], ['--log-level', 'debug']);
});

afterAll(async () => {
  await scorecar?.stop();
  await emulator?.stop();
});

function jsonLines(text: string): Array<Record<string, unknown>> {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('serve and emulate log JSON lines', () => {
  it('start-up, a request at debug with its id, and shutdown', async () => {
    const r = await call(`${scorecar.url}/v1/score`, 'POST', JSON.stringify({ query: 'q', items: ['a'], label_token_ids: [9454, 2753] }), {
      'content-type': 'application/json',
      'x-request-id': 'cli-req-1',
    });
    expect(r.status).toBe(200);
    await new Promise((res) => setTimeout(res, 200));
    await scorecar.stop();
    const lines = jsonLines(scorecar.output());
    for (const l of lines) {
      expect(typeof l.level).toBe('string');
      expect(typeof l.time).toBe('string');
      expect(typeof l.msg).toBe('string');
    }
    expect(lines.find((l) => typeof l.url === 'string' && String(l.msg).includes('HTTP API on'))).toMatchObject({ level: 'info', name: 'scorecar' });
    expect(lines.find((l) => l.reqId === 'cli-req-1' && l.msg === 'request')).toMatchObject({ level: 'debug', status: 200, path: '/v1/score' });
    expect(lines.some((l) => String(l.msg).includes('shutting down'))).toBe(true);
    const emu = jsonLines(emulator.output());
    expect(emu[0]).toMatchObject({ level: 'info', name: 'scorecar-emulate', url: emulator.url });
  });
});
