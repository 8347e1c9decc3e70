import { describe, expect, it } from 'vitest';
import { SGLANG_ADMIN_PATHS, classifyRoute, routingPath } from '../../../src/api/http/route-class.js';

describe('passthrough route classes', () => {
  it("classes SGLang 0.5.23's admin, weight and profiling routes as admin", () => {
    for (const p of ['/flush_cache', '/update_weights_from_disk', '/update_weight_version', '/start_profile', '/stop_profile', '/release_memory_occupation', '/load_lora_adapter', '/dumper/dump', '/scale_elastic_ep']) {
      expect(classifyRoute(p)).toBe('admin');
    }
    expect(SGLANG_ADMIN_PATHS.size).toBe(42);
  });

  it('sees through spellings the backend routes to the same handler', () => {
    expect(routingPath('/%66lush_cache')).toBe('/flush_cache');
    for (const p of ['/%66lush_cache', '//flush_cache', '/flush_cache/', '/FLUSH_CACHE', '/update_weights_from_disk%2F', '/%E0%A4%A']) {
      expect(classifyRoute(p)).toBe('admin');
    }
  });

  it('leaves probes open and everything else normal', () => {
    expect(classifyRoute('/health_generate')).toBe('open');
    expect(classifyRoute('/ready')).toBe('open');
    expect(classifyRoute('/metrics')).toBe('open');
    expect(classifyRoute('/%68ealth')).toBe('normal');
    for (const p of ['/generate', '/v1/models', '/v1/chat/completions', '/get_model_info', '/tokenize', '/flush_cache_x']) expect(classifyRoute(p)).toBe('normal');
  });
});
