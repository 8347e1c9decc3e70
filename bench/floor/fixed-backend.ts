import { createServer } from 'node:http';
import { qwen3Tokenizer } from '../workload/tokenizer.js';

/**
 * The floor bench's backend: answers SGLang's discovery routes (/server_info, /model_info,
 * /health, /tokenize with the real Qwen3 tokenizer for scorecar's tokenizer check) and /v1/score
 * with a fixed, precomputed body of as many score rows as the request has items, so every proxy in
 * front of it is measured on its own work. Items are counted from the ids body
 * (`"items":[[..],[..]]`): `],[` separators. `--mis` advertises multi-item scoring (enable_mis).
 *
 *   node dist/bench/floor/fixed-backend.js PORT [--mis]
 */
const port = Number(process.argv[2] ?? 0);
const mis = process.argv.includes('--mis');
const ROW = '[0.7310585786300049,0.2689414213699951]';
const bodies = new Map<number, Buffer>();

function scoreBody(n: number): Buffer {
  let b = bodies.get(n);
  if (b === undefined) {
    const rows = new Array<string>(n).fill(ROW).join(',');
    b = Buffer.from(
      `{"scores":[${rows}],"pooled_hidden_states":null,"token_logprobs":null,"model":"default","usage":{"prompt_tokens":${n * 220},"total_tokens":${n * 220},"completion_tokens":0,"prompt_tokens_details":null,"reasoning_tokens":0,"completion_tokens_details":null},"object":"scoring"}`,
    );
    bodies.set(n, b);
  }
  return b;
}

function countItems(body: Buffer): number {
  const at = body.indexOf('"items"');
  if (at < 0) return 0;
  let open = body.indexOf('[', at);
  if (body[open + 1] === 0x5d) return 0; // "items":[]
  let n = 1;
  let depth = 0;
  for (let i = open; i < body.length; i++) {
    const c = body[i];
    if (c === 0x5b) depth++;
    else if (c === 0x5d && --depth === 0) break;
    else if (c === 0x2c && depth === 1) n++;
  }
  open = 0;
  return n;
}

const SERVER_INFO = JSON.stringify({
  model_path: 'fixed-answer',
  context_length: 40960,
  max_req_input_len: 40954,
  enable_mis: mis,
  version: '0.5.23',
  note: 'scorecar floor bench: a fixed-answer backend, not SGLang',
});
const MODEL_INFO = JSON.stringify({ model_path: 'fixed-answer', weight_version: 'default', is_generation: true });

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const url = req.url ?? '/';
    const send = (status: number, body: string | Buffer): void => {
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    };
    if (url === '/v1/score') return send(200, scoreBody(countItems(Buffer.concat(chunks))));
    if (url === '/health') return send(200, '');
    if (url === '/server_info' || url === '/get_server_info') return send(200, SERVER_INFO);
    if (url === '/model_info' || url === '/get_model_info') return send(200, MODEL_INFO);
    if (url === '/tokenize') {
      const { prompt } = JSON.parse(Buffer.concat(chunks).toString()) as { prompt: string };
      return send(200, JSON.stringify({ tokens: qwen3Tokenizer().encode(prompt), count: 0, max_model_len: 40960 }));
    }
    send(404, '{"detail":"Not Found"}');
  });
});
// Loaded before listening: scorecar's tokenizer probe must not wait for it.
qwen3Tokenizer();
server.keepAliveTimeout = 75_000;
server.listen(port, '127.0.0.1', () => {
  const a = server.address();
  process.stdout.write(`fixed-answer backend listening on http://127.0.0.1:${typeof a === 'object' && a ? a.port : port}\n`);
});
