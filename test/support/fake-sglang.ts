import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeSglangOptions {
  /** model_path in /server_info and /model_info (weight_version 'default'). */
  modelPath: string;
  /** /server_info's version, when the fake should report one. */
  version?: string;
  /** /tokenize's ids for any text (a tokenizer unlike scorecar's); absent: no /tokenize route. */
  tokens?: number[];
  /** The answer to a /v1/score body: a JSON value, or JSON text sent as it is. */
  score(body: string): { status?: number; body: unknown };
}

/**
 * An SGLang stand-in for the e2e tests that need a backend the emulator cannot be: the discovery
 * routes scorecar reads, a 400 for scorecar's endpoint-line probe (a null body), and /v1/score
 * from the test's own function. Every answer carries its content length; other paths are 404.
 */
export async function startFakeSglang(o: FakeSglangOptions): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const send = (status: number, v: unknown): void => {
        const text = typeof v === 'string' ? v : JSON.stringify(v);
        res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
        res.end(text);
      };
      if (req.url === '/health') return void res.writeHead(200, { 'content-length': 0 }).end();
      if (req.url === '/server_info') {
        return send(200, { model_path: o.modelPath, max_req_input_len: 4000, context_length: 4096, enable_mis: false, ...(o.version === undefined ? {} : { version: o.version }) });
      }
      if (req.url === '/model_info') return send(200, { model_path: o.modelPath, weight_version: 'default' });
      if (req.url === '/tokenize' && o.tokens !== undefined) return send(200, { tokens: o.tokens, count: o.tokens.length, max_model_len: 4096 });
      if (req.url === '/v1/score') {
        if (body === 'null') return send(400, { detail: 'probe' });
        const r = o.score(body);
        return send(r.status ?? 200, r.body);
      }
      send(404, { detail: 'Not Found' });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}
