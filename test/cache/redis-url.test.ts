import { describe, expect, it } from 'vitest';
import { isRedisSpec, redactUrl, toRedisUrl } from '../../src/cache/redis-url.js';

describe('redis cache specs', () => {
  it('reads Redis and Valkey URLs, plain and TLS, as ioredis URLs', () => {
    expect(['redis://h:1', 'rediss://h:1', 'valkey://h:1/2', 'valkeys://h:1', 'memory', 'off', 'http://h:1'].map(isRedisSpec)).toEqual([
      true, true, true, true, false, false, false,
    ]);
    expect(toRedisUrl('valkey://cache:6379/2')).toBe('redis://cache:6379/2');
    expect(toRedisUrl('valkeys://cache:6380')).toBe('rediss://cache:6380');
    expect(toRedisUrl('redis://cache:6379')).toBe('redis://cache:6379');
  });

  it('keeps passwords out of logs', () => {
    expect(redactUrl('redis://:secret@cache:6379/1')).toBe('redis://:***@cache:6379/1');
    expect(redactUrl('redis://user:secret@cache:6379')).toBe('redis://user:***@cache:6379');
    expect(redactUrl('redis://cache:6379')).toBe('redis://cache:6379');
  });
});
