import { createServer } from 'node:http';
import { Pool } from 'undici';

/**
 * The floor bench's reference: the simplest /v1/score proxy one would write in Node, not tuned
 * against scorecar. JSON.parse the request, forward it with a keep-alive undici Pool,
 * JSON.parse the answer and JSON.stringify it back.
 *
 *   node dist/bench/floor/naive-proxy.js PORT BACKEND_URL
 */
const port = Number(process.argv[2] ?? 0);
const backend = process.argv[3] ?? 'http://127.0.0.1:30000';
const pool = new Pool(backend, { connections: 64, pipelining: 1, keepAliveTimeout: 60_000 });

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    void (async () => {
      try {
        const request = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
        const r = await pool.request({ path: '/v1/score', method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(request) });
        const answer = JSON.parse(await r.body.text()) as unknown;
        const out = JSON.stringify(answer);
        res.writeHead(r.statusCode, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out) });
        res.end(out);
      } catch (e) {
        res.writeHead(502, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: String(e) }));
      }
    })();
  });
});
server.keepAliveTimeout = 75_000;
server.listen(port, '127.0.0.1', () => {
  const a = server.address();
  process.stdout.write(`naive proxy listening on http://127.0.0.1:${typeof a === 'object' && a ? a.port : port}\n`);
});
