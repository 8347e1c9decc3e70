import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedCall {
  method: string;
  path: string;
  authorization: string | null;
  requestId: string | null;
  traceparent: string | null;
}

export interface RecordingUpstream {
  url: string;
  calls: RecordedCall[];
  /** weight_version reported by /model_info (change it to look like a new rollout). */
  weightVersion: string;
  close(): Promise<void>;
}

/**
 * A tiny SGLang stand-in that records the Authorization header of every request it gets. It
 * answers health and discovery like SGLang, has no /tokenize (so text is relayed), and answers
 * every other path 200 with a small JSON naming the path.
 */
export async function startRecordingUpstream(): Promise<RecordingUpstream> {
  const calls: RecordedCall[] = [];
  const state = { weightVersion: 'default' };
  const server: Server = createServer((req, res) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    calls.push({
      method: req.method ?? 'GET',
      path,
      authorization: req.headers.authorization ?? null,
      requestId: (req.headers['x-request-id'] as string | undefined) ?? null,
      traceparent: (req.headers.traceparent as string | undefined) ?? null,
    });
    req.resume();
    req.on('end', () => {
      const json = (status: number, v: unknown): void => {
        const body = JSON.stringify(v);
        res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      };
      if (path === '/health') return json(200, {});
      if (path === '/server_info') return json(200, { model_path: 'rec/model', max_req_input_len: 4000, context_length: 4096, enable_mis: false, version: 'rec' });
      if (path === '/model_info') return json(200, { model_path: 'rec/model', weight_version: state.weightVersion });
      if (path === '/tokenize' || path === '/v1/tokenize') return json(404, { detail: 'Not Found' });
      json(200, { path });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls,
    get weightVersion() {
      return state.weightVersion;
    },
    set weightVersion(v: string) {
      state.weightVersion = v;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
