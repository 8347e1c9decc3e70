import type { ServerResponse } from 'node:http';
import { TYPE_INTERNAL, errorEnvelopeJson } from '../sglang/errors.js';
import type { EmulatorContext } from './context.js';
import { send } from './http.js';
import { delay } from './scheduler.js';

/**
 * Applies the configured faults and the modelled per-request overhead to a model route.
 * Returns true when a fault has taken over the response.
 */
export async function applyFault(ctx: EmulatorContext, res: ServerResponse, path: string): Promise<boolean> {
  const overheadMs = ctx.options.cost.requestOverheadUs / 1000 + ctx.faults.faults.extraLatencyMs;
  if (overheadMs > 0) await delay(overheadMs);
  switch (ctx.faults.draw()) {
    case 'none':
      return false;
    case 'error': {
      const body = errorEnvelopeJson('Internal server error: injected fault (emulator)', TYPE_INTERNAL, 500);
      ctx.record('POST', path, 500, send(res, 500, body));
      return true;
    }
    case 'drop':
      ctx.droppedConnections++;
      res.socket?.destroy();
      return true;
    case 'malformed':
      ctx.record('POST', path, 200, send(res, 200, '{"scores":[[0.5,'));
      return true;
    case 'stall':
      // Never answers; the socket closes when the client gives up or the server stops.
      return true;
  }
}
