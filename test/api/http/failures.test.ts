import { createServer, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { answerFailure } from '../../../src/api/http/failures.js';
import { DeadlineExceededInFlight } from '../../../src/control/shaper-errors.js';
import { CancelledError } from '../../../src/mem/cancel-scope.js';

let server: Server | null = null;
afterEach(() => {
  server?.close();
  server = null;
});

/** A real server whose handler answers every request through answerFailure(e). */
function serve(onRequest: (res: ServerResponse) => void): Promise<number> {
  server = createServer((_req, res) => onRequest(res));
  return new Promise((resolve) => server!.listen(0, '127.0.0.1', () => resolve((server!.address() as AddressInfo).port)));
}

function post(port: number): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const r = request({ port, host: '127.0.0.1', method: 'POST', path: '/v1/score' }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    r.on('error', reject);
    r.end('{}');
  });
}

describe('answerFailure', () => {
  it('answers a cancellation 503 while the client still waits (never leaves it hanging)', async () => {
    let sent = 0;
    const port = await serve((res) => (sent = answerFailure(res, new CancelledError())));
    const r = await post(port);
    expect(sent).toBe(503);
    expect(r.status).toBe(503);
    expect(r.headers['retry-after']).toBe('1');
    expect(JSON.parse(r.body)).toMatchObject({ object: 'error', code: 503 });
  });

  it('sends nothing and reports 499 once the client has gone', async () => {
    const seen = new Promise<number>((resolve) => {
      void serve((res) => {
        res.on('close', () => resolve(answerFailure(res, new CancelledError())));
        res.req.socket.destroy();
      }).then((port) => post(port).catch(() => undefined));
    });
    expect(await seen).toBe(499);
  });

  it('answers a deadline that passed in flight 504', async () => {
    const port = await serve((res) => answerFailure(res, new DeadlineExceededInFlight(3)));
    const r = await post(port);
    expect(r.status).toBe(504);
    expect(JSON.parse(r.body)).toMatchObject({ object: 'error', code: 504 });
  });
});
