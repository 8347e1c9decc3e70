import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TYPE_INTERNAL, METHOD_NOT_ALLOWED_JSON, NOT_FOUND_JSON, UNAUTHORIZED_JSON, errorEnvelopeJson } from '../sglang/errors.js';
import { TokenizerPool } from '../tokenize/pool.js';
import { EmulatorContext } from './context.js';
import type { Faults } from './faults.js';
import { handleGenerate } from './generate-route.js';
import { BodyTooLarge, readBody, send, sendEmpty } from './http.js';
import {
  FLUSH_CACHE_TEXT,
  FREEZE_GC_TEXT,
  handleDetokenize,
  handleTokenize,
  modelInfo,
  models,
  serverInfo,
} from './info-routes.js';
import { type EmulatorOptions, DEFAULT_EMULATOR_OPTIONS } from './options.js';
import { handleScore } from './score-route.js';

type Handler = (ctx: EmulatorContext, req: IncomingMessage, res: ServerResponse, body: Buffer) => unknown;

interface Route {
  methods: string[];
  handler: Handler;
}

const text = (t: string): Handler => (_ctx, _req, res) => void send(res, 200, t, 'text/plain; charset=utf-8');

function routes(): Map<string, Route> {
  const r = new Map<string, Route>();
  const add = (paths: string[], methods: string[], handler: Handler): void => {
    for (const p of paths) r.set(p, { methods, handler });
  };
  add(['/v1/score'], ['POST'], handleScore);
  add(['/generate'], ['POST', 'PUT'], handleGenerate);
  add(['/health', '/health_generate'], ['GET'], (ctx, _req, res) => sendEmpty(res, ctx.healthy ? 200 : 503));
  add(['/ping'], ['GET'], (_ctx, _req, res) => sendEmpty(res, 200));
  add(['/server_info', '/get_server_info'], ['GET'], (ctx, _req, res) => void send(res, 200, JSON.stringify(serverInfo(ctx))));
  add(['/model_info', '/get_model_info'], ['GET'], (ctx, _req, res) => void send(res, 200, JSON.stringify(modelInfo(ctx))));
  add(['/v1/models'], ['GET'], (ctx, _req, res) => {
    ctx.record('GET', '/v1/models', 200, send(res, 200, JSON.stringify(models(ctx))));
  });
  add(['/tokenize', '/v1/tokenize'], ['POST'], handleTokenize);
  add(['/detokenize', '/v1/detokenize'], ['POST'], handleDetokenize);
  add(['/flush_cache'], ['GET', 'POST'], text(FLUSH_CACHE_TEXT));
  add(['/freeze_gc'], ['GET', 'POST'], text(FREEZE_GC_TEXT));
  add(['/metrics'], ['GET'], async (ctx, _req, res) => {
    send(res, 200, await ctx.metrics.registry.metrics(), ctx.metrics.registry.contentType);
  });
  // The emulator's own admin routes, for tests and benchmarks; SGLang has none of these.
  add(['/emulator/faults'], ['GET', 'POST'], (ctx, req, res, body) => {
    if (req.method === 'POST') {
      try {
        ctx.faults.update(JSON.parse(body.toString('utf8')) as Partial<Faults>);
      } catch (e) {
        return void send(res, 400, errorEnvelopeJson(String((e as Error).message), 'BadRequestError', 400));
      }
    }
    send(res, 200, JSON.stringify(ctx.faults.faults));
  });
  add(['/emulator/health'], ['POST'], (ctx, _req, res, body) => {
    try {
      ctx.healthy = (JSON.parse(body.toString('utf8')) as { healthy?: unknown }).healthy !== false;
    } catch {
      return void send(res, 400, errorEnvelopeJson('expected {"healthy": bool}', 'BadRequestError', 400));
    }
    send(res, 200, JSON.stringify({ healthy: ctx.healthy }));
  });
  add(['/emulator/stats'], ['GET'], (ctx, _req, res) => {
    send(
      res,
      200,
      JSON.stringify({
        emulator: true,
        profile: ctx.options.profile,
        requests_by_path: Object.fromEntries(ctx.requestsByPath),
        aborted_streams: ctx.abortedStreams,
        active_streams: ctx.activeStreams,
        dropped_connections: ctx.droppedConnections,
        scheduler: ctx.scheduler.stats,
        modelled_tokenize_us: ctx.tokenizer.modelledUs,
        modelled_front_end_us: ctx.frontEndUs,
      }),
    );
  });
  add(['/emulator/recent'], ['GET'], (ctx, _req, res) => void send(res, 200, JSON.stringify(ctx.recent)));
  return r;
}

function authorized(ctx: EmulatorContext, req: IncomingMessage, path: string): boolean {
  const key = ctx.options.apiKey;
  if (key === null || req.method === 'OPTIONS' || path.startsWith('/health') || path.startsWith('/metrics')) return true;
  const h = req.headers.authorization ?? '';
  const space = h.indexOf(' ');
  return space > 0 && h.slice(0, space).toLowerCase() === 'bearer' && h.slice(space + 1) === key;
}

export interface RunningEmulator {
  url: string;
  port: number;
  server: Server;
  context: EmulatorContext;
  close(): Promise<void>;
}

/** Starts the SGLang emulator: a simulated SGLang server, labelled as such in /server_info. */
export async function startEmulator(partial: Partial<EmulatorOptions> = {}): Promise<RunningEmulator> {
  const options: EmulatorOptions = { ...DEFAULT_EMULATOR_OPTIONS, ...partial };
  const pool = new TokenizerPool({ threads: options.tokenizerThreads });
  await pool.ready();
  const ctx = new EmulatorContext(options, pool);
  const table = routes();
  const server = createServer((req, res) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    ctx.count(path);
    const route = table.get(path);
    if (!authorized(ctx, req, path)) return void send(res, 401, UNAUTHORIZED_JSON);
    if (!route) {
      req.resume();
      return void send(res, 404, NOT_FOUND_JSON);
    }
    if (!route.methods.includes(req.method ?? '')) {
      req.resume();
      res.setHeader('allow', route.methods.join(', '));
      return void send(res, 405, METHOD_NOT_ALLOWED_JSON);
    }
    readBody(req, options.maxBodyBytes)
      .then((body) => route.handler(ctx, req, res, body))
      .catch((e: unknown) => {
        if (e instanceof BodyTooLarge) return void send(res, 413, errorEnvelopeJson(e.message, 'BadRequestError', 413));
        send(res, 500, errorEnvelopeJson(`Internal server error: ${String((e as Error)?.message ?? e)}`, TYPE_INTERNAL, 500));
      });
  });
  server.keepAliveTimeout = 75_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  ctx.options.port = port;
  return {
    url: `http://${options.host}:${port}`,
    port,
    server,
    context: ctx,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await pool.close();
    },
  };
}
