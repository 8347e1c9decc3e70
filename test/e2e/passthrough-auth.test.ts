import { afterAll, describe, expect, it } from 'vitest';
import { SGLANG_ADMIN_PATHS } from '../../src/api/http/route-class.js';
import { type RecordingUpstream, startRecordingUpstream } from '../support/recording-upstream.js';
import { type Proc, call, startScorecar } from './harness.js';

/**
 * The backend key is lent only to clients scorecar authenticated, and on SGLang's admin routes
 * only to holders of the admin key. A recording upstream shows the Authorization that arrives.
 */
const procs: Proc[] = [];
const upstreams: RecordingUpstream[] = [];
afterAll(async () => {
  for (const p of procs) await p.stop();
  for (const u of upstreams) await u.close();
});

async function setup(args: string[]): Promise<{ up: RecordingUpstream; sc: Proc }> {
  const up = await startRecordingUpstream();
  upstreams.push(up);
  const sc = await startScorecar([up.url], args);
  procs.push(sc);
  return { up, sc };
}

const adminPaths = [...SGLANG_ADMIN_PATHS, '/dumper/dump', '/%66lush_cache', '//flush_cache/', '/FLUSH_CACHE'];

describe('passthrough authorization', () => {
  it('without --api-key: forwards the client header unchanged and never adds the backend key', async () => {
    const { up, sc } = await setup(['--backend-api-key', 'backend-secret']);
    // No --cache-key-secret: a random one, and the log says so.
    expect(sc.output()).toMatch(/no --cache-key-secret .* random per-process secret/);
    // scorecar's own calls carry the backend key.
    expect(up.calls.some((c) => c.path === '/server_info' && c.authorization === 'Bearer backend-secret')).toBe(true);
    expect(up.calls.some((c) => c.path === '/health' && c.authorization === 'Bearer backend-secret')).toBe(true);
    up.calls.length = 0;
    for (const path of [...adminPaths, '/v1/models', '/generate']) {
      expect((await call(sc.url + path, 'POST', '{}')).status).toBe(200);
      expect((await call(sc.url + path, 'POST', '{}', { authorization: 'Bearer my-own' })).status).toBe(200);
    }
    const forwarded = up.calls.filter((c) => c.path !== '/health');
    expect(forwarded.length).toBe(2 * (adminPaths.length + 2));
    expect(forwarded.filter((c) => c.authorization === null).length).toBe(adminPaths.length + 2);
    expect(forwarded.filter((c) => c.authorization === 'Bearer my-own').length).toBe(adminPaths.length + 2);
    expect(forwarded.some((c) => c.authorization?.includes('backend-secret'))).toBe(false);
  });

  it('with --api-key: checks the client, lends the backend key, and admin routes need the admin key', async () => {
    const { up, sc } = await setup(['--api-key', 'client-secret', '--admin-api-key', 'admin-secret', '--backend-api-key', 'backend-secret', '--backend-admin-api-key', 'backend-admin-secret']);
    up.calls.length = 0;
    const client = { authorization: 'Bearer client-secret' };
    // Normal routes: no key 401, the client key lends the backend key.
    expect((await call(sc.url + '/v1/models', 'GET')).status).toBe(401);
    expect((await call(sc.url + '/v1/models', 'GET', undefined, client)).status).toBe(200);
    expect(up.calls.filter((c) => c.path === '/v1/models').map((c) => c.authorization)).toEqual(['Bearer backend-secret']);
    // Admin routes, every spelling: no key and the client key are refused before the backend.
    for (const path of adminPaths) {
      expect((await call(sc.url + path, 'POST', '{}')).status).toBe(401);
      expect((await call(sc.url + path, 'POST', '{}', client)).status).toBe(401);
      expect((await call(sc.url + path, 'POST', '{}', { authorization: 'Bearer backend-secret' })).status).toBe(401);
    }
    const reachedAdmin = up.calls.filter((c) => c.path !== '/health' && c.path !== '/v1/models');
    expect(reachedAdmin).toEqual([]);
    // The admin key gets the backend's admin key.
    expect((await call(sc.url + '/flush_cache', 'POST', '{}', { authorization: 'Bearer admin-secret' })).status).toBe(200);
    expect(up.calls.filter((c) => c.path === '/flush_cache').map((c) => c.authorization)).toEqual(['Bearer backend-admin-secret']);
    // Probes stay open and are not handed any key.
    expect((await call(sc.url + '/health_generate', 'GET')).status).toBe(200);
    expect(up.calls.filter((c) => c.path === '/health_generate').map((c) => c.authorization)).toEqual([null]);
  });
});
