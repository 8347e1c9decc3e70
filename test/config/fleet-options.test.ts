import { describe, expect, it } from 'vitest';
import { parseServeConfig } from '../../src/config/serve-config.js';

describe('fleet options of serve', () => {
  it('takes backends from a file or DNS alone, and SCORECAR_BACKEND_DNS from the environment', () => {
    expect(parseServeConfig(['--backend-file', '/etc/scorecar/backends'], {}).backendFile).toBe('/etc/scorecar/backends');
    expect(parseServeConfig([], { SCORECAR_BACKEND_DNS: 'http://sglang.scorecar.svc.cluster.local:30000' }).backendDns).toEqual([
      'http://sglang.scorecar.svc.cluster.local:30000',
    ]);
    const c = parseServeConfig(['--backend-dns', 'a:1', '--backend-dns', 'b:2', '--hedge'], {});
    expect(c.backendDns).toEqual(['a:1', 'b:2']);
    expect(c.hedge).toBe(true);
    expect(c.retryBudgetRatio).toBe(0.2);
    expect(c.ejectConsecutiveFailures).toBe(5);
  });

  it('refuses a DNS target without a port, the emulator beside discovered backends, and bad bounds', () => {
    expect(() => parseServeConfig(['--backend-dns', 'sglang'], {})).toThrow(/--backend-dns sglang: needs a port/);
    expect(() => parseServeConfig(['--emulate', '--backend-dns', 'a:1'], {})).toThrow(/--emulate cannot be combined/);
    expect(() => parseServeConfig(['--backend', 'http://a:1', '--retry-budget-ratio', '1.5'], {})).toThrow(/--retry-budget-ratio/);
    expect(() => parseServeConfig(['--backend', 'http://a:1', '--eject-base-ms', '5000', '--eject-max-ms', '100'], {})).toThrow(/--eject-base-ms/);
    expect(() => parseServeConfig([], {})).toThrow(/--backend-file/);
  });
});
