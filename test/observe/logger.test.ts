import { describe, expect, it } from 'vitest';
import { parseEmulateConfig } from '../../src/config/emulate-config.js';
import { ConfigError } from '../../src/config/options.js';
import { parseServeConfig } from '../../src/config/serve-config.js';
import { createLogger } from '../../src/observe/logger.js';
import { LogLines } from './support.js';

describe('createLogger', () => {
  it('writes one JSON object per line: level by name, ISO time, name, msg and fields', () => {
    const out = new LogLines();
    const log = createLogger('info', out);
    log.info({ reqId: 'r-1', items: 3 }, 'scored');
    log.debug('not at info');
    expect(out.lines).toHaveLength(1);
    const line = out.lines[0] as Record<string, unknown>;
    expect(line).toMatchObject({ level: 'info', name: 'scorecar', msg: 'scored', reqId: 'r-1', items: 3 });
    expect(Number.isNaN(Date.parse(String(line.time)))).toBe(false);
  });

  it('keeps a message with newlines on one line', () => {
    const out = new LogLines();
    createLogger('info', out).warn('two\nlines');
    expect(out.raw).toHaveLength(1);
    expect(out.lines[0]?.msg).toBe('two\nlines');
  });
});

describe('--log-level', () => {
  it('defaults to info, is settable by flag or SCORECAR_LOG_LEVEL, and is checked', () => {
    const base = ['--backend', 'http://127.0.0.1:1'];
    expect(parseServeConfig(base, {}).logLevel).toBe('info');
    expect(parseServeConfig([...base, '--log-level', 'debug'], {}).logLevel).toBe('debug');
    expect(parseServeConfig(base, { SCORECAR_LOG_LEVEL: 'warn' }).logLevel).toBe('warn');
    expect(() => parseServeConfig([...base, '--log-level', 'loud'], {})).toThrow(ConfigError);
    expect(parseEmulateConfig(['--log-level', 'error'], {}).logLevel).toBe('error');
  });

  it('--otel-endpoint must be an http(s) URL; tracing flags default off / scorecar', () => {
    const base = ['--backend', 'http://127.0.0.1:1'];
    const c = parseServeConfig(base, {});
    expect(c.otelEndpoint).toBeNull();
    expect(c.otelServiceName).toBe('scorecar');
    expect(() => parseServeConfig([...base, '--otel-endpoint', 'collector:4318'], {})).toThrow(/must be an http\(s\) URL/);
  });
});
