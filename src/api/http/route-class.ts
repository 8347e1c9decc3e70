/**
 * Which key a passed-through SGLang route needs, as SGLang 0.5.23 decides it
 * (sglang/srt/utils/auth.py, decide_request_auth):
 *  - 'open': /health*, /ready*, /metrics*: never asks for a key (probes and scrapers).
 *  - 'admin': the routes marked @auth_level(AuthLevel.ADMIN_OPTIONAL) in
 *    srt/entrypoints/http_server.py and srt/entrypoints/elastic_ep.py: cache flushes, weight
 *    updates and transfers, profiling and tracing, memory release, LoRA loading, aborts, pausing,
 *    internal state. SGLang 0.5.23 marks no route ADMIN_FORCE.
 *  - 'normal': every other route.
 */
export type RouteClass = 'open' | 'admin' | 'normal';

/** Paths of SGLang 0.5.23's ADMIN_OPTIONAL routes (any method). */
export const SGLANG_ADMIN_PATHS: ReadonlySet<string> = new Set([
  '/set_internal_state',
  '/flush_cache',
  '/add_external_corpus',
  '/remove_external_corpus',
  '/list_external_corpora',
  '/hicache/storage-backend',
  '/hicache/storage-backend/clear',
  '/start_profile',
  '/stop_profile',
  '/set_trace_level',
  '/freeze_gc',
  '/start_expert_distribution_record',
  '/stop_expert_distribution_record',
  '/dump_expert_distribution_record',
  '/update_weights_from_disk',
  '/init_weights_send_group_for_remote_instance',
  '/send_weights_to_remote_instance',
  '/get_remote_instance_transfer_engine_info',
  '/remote_instance_transfer_engine_info',
  '/init_weights_update_group',
  '/destroy_weights_update_group',
  '/update_weights_from_tensor',
  '/begin_weight_update',
  '/end_weight_update',
  '/update_weights_from_distributed',
  '/update_weights_from_ipc',
  '/update_weight_version',
  '/get_weights_by_name',
  '/release_memory_occupation',
  '/resume_memory_occupation',
  '/weights_checker',
  '/slow_down',
  '/pd_role_switch',
  '/load_lora_adapter',
  '/load_lora_adapter_from_tensors',
  '/unload_lora_adapter',
  '/configure_logging',
  '/abort_request',
  '/pause_generation',
  '/continue_generation',
  '/scale_elastic_ep',
  '/is_scaling_elastic_ep',
]);

/** Path prefixes of ADMIN_OPTIONAL routes with a path parameter (/dumper/{method}). */
const SGLANG_ADMIN_PREFIXES: readonly string[] = ['/dumper/'];

/** Prefixes SGLang leaves open whatever keys are set. */
const OPEN_PREFIXES: readonly string[] = ['/health', '/ready', '/metrics'];

/**
 * The path as the backend's router will match it, made more inclusive rather than less: the
 * server decodes percent-escapes before routing, so /%66lush_cache is /flush_cache there;
 * repeated and trailing slashes and letter case are folded too, so no spelling of an admin path
 * is classed as normal. Returns null for a path that does not decode.
 */
export function routingPath(path: string): string | null {
  let p = path;
  if (p.includes('%')) {
    try {
      p = decodeURIComponent(p);
    } catch {
      return null;
    }
  }
  p = p.replace(/\/{2,}/g, '/').toLowerCase();
  while (p.length > 1 && p.endsWith('/')) p = p.slice(0, -1);
  return p;
}

/** The class of a passed-through path (the query string already removed). */
export function classifyRoute(path: string): RouteClass {
  const p = routingPath(path);
  // Undecodable: never cheaper than admin.
  if (p === null) return 'admin';
  if (SGLANG_ADMIN_PATHS.has(p)) return 'admin';
  for (const prefix of SGLANG_ADMIN_PREFIXES) if (p.startsWith(prefix)) return 'admin';
  // Open only as the client wrote it: an encoded /health must not unlock anything either way.
  for (const prefix of OPEN_PREFIXES) if (path.startsWith(prefix) && p.startsWith(prefix)) return 'open';
  return 'normal';
}
