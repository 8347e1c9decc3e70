import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseEmulateConfig } from '../../src/config/emulate-config.js';
import { ConfigError } from '../../src/config/options.js';
import { parseServeConfig } from '../../src/config/serve-config.js';

describe('serve configuration', () => {
  it('takes flags over env over file over defaults', () => {
    const dir = mkdtempSync(join(tmpdir(), 'scorecar-cfg-'));
    const file = join(dir, 'c.json');
    writeFileSync(file, JSON.stringify({ max_items: 10, port: 1111, backend: ['http://file:1'] }));
    const c = parseServeConfig(['--config', file, '--port', '2222'], { SCORECAR_MAX_ITEMS: '20', SCORECAR_PORT: '3333' });
    expect(c.port).toBe(2222);
    expect(c.maxItems).toBe(20);
    expect(c.backend).toEqual(['http://file:1']);
    expect(c.maxPackTokens).toBeNull();
  });

  it('refuses to start without a backend or --emulate, and names bad flags', () => {
    expect(() => parseServeConfig([], {})).toThrow(/--backend URL .* or --emulate/);
    expect(() => parseServeConfig(['--emulate', '--max-items', 'many'], {})).toThrow(/--max-items: expected an integer/);
    expect(() => parseServeConfig(['--backend', 'nope'], {})).toThrow(ConfigError);
    expect(() => parseServeConfig(['--emulate', '--no-such-flag'], {})).toThrow(ConfigError);
    // The emulator never joins a real pool: its scores would be served under the real model's identity.
    expect(() => parseServeConfig(['--emulate', '--backend', 'http://127.0.0.1:30000'], {})).toThrow(/--emulate cannot be combined with --backend/);
    expect(() => parseServeConfig(['--emulate', '--cache-key-secret', 'short'], {})).toThrow(/--cache-key-secret: must be at least 16/);
    expect(parseServeConfig(['--backend', 'http://a:1,http://b:2'], {}).backend).toEqual(['http://a:1', 'http://b:2']);
  });

  it('takes every score-cache spec the cache itself understands, and nothing else', () => {
    for (const spec of ['memory', 'off', 'redis://h:1', 'rediss://h:1', 'valkey://h:1', 'valkeys://h:1']) {
      expect(parseServeConfig(['--emulate', '--score-cache', spec], {}).scoreCache).toBe(spec);
    }
    expect(() => parseServeConfig(['--emulate', '--score-cache', 'memcached://h:1'], {})).toThrow(/--score-cache memcached/);
  });
});

describe('emulate configuration', () => {
  it('maps the two MIS generations and cost overrides', () => {
    expect(parseEmulateConfig(['--mis'], {}).mis).toEqual({ kind: 'enable_mis' });
    expect(parseEmulateConfig(['--mis-delimiter', '151662'], {}).mis).toEqual({ kind: 'delimiter', tokenId: 151662 });
    expect(parseEmulateConfig([], {}).mis).toEqual({ kind: 'off' });
    expect(() => parseEmulateConfig(['--mis', '--mis-delimiter', '1'], {})).toThrow(/pick one/);
    const c = parseEmulateConfig(['--cost', 'stepLaunchUs=4000', '--cost', 'batchTokenize=true'], {});
    expect(c.cost?.stepLaunchUs).toBe(4000);
    expect(c.cost?.batchTokenize).toBe(true);
    expect(() => parseEmulateConfig(['--cost', 'warp=9'], {})).toThrow(/name=value/);
    expect(() => parseEmulateConfig(['--profile', 'h200-magic'], {})).toThrow(/unknown/);
  });
});
