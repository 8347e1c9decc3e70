import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { scorecarEnvProblems } from './env-names.js';
import { DOCKER, findTool, run } from './support.js';

/**
 * docker/compose.yaml through `docker-compose config`: Debian 12's Compose v1 (1.29), which
 * parses the file, interpolates it and validates it against the Compose specification's JSON
 * schema without a Docker engine. 1.29 knows `profiles` and GPU device reservations (both
 * arrived in 1.28); the mutation checks below show it rejects malformed ones.
 */
const COMPOSE = join(DOCKER, 'compose.yaml');
const TOOL = findTool('docker-compose', 'DOCKER_COMPOSE');
const SECRET = 'lint-deploy-test-secret';

function config(file: string, env: Record<string, string | undefined>, extra: string[] = []): { status: number; output: string } {
  const e: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, ...env };
  return run(TOOL as string, ['--no-ansi', '-f', file, ...extra, 'config'], { env: e });
}

interface Service {
  image?: string;
  profiles?: string[];
  command?: string[];
  environment?: Record<string, string | null>;
  deploy?: { resources?: { reservations?: { devices?: Array<{ driver?: string; count?: number | string; capabilities?: string[] }> } } };
  healthcheck?: { test: string[] };
}

describe('docker/compose.yaml (docker-compose config)', () => {
  it('docker-compose is installed (Debian: apt-get install docker-compose; test/run-all.sh does it)', () => {
    expect(TOOL, 'docker-compose not found on PATH (or $DOCKER_COMPOSE)').not.toBeNull();
  });

  describe.runIf(TOOL !== null)('with the tool', () => {
    const ok = TOOL ? config(COMPOSE, { SCORECAR_CACHE_KEY_SECRET: SECRET }) : { status: -1, output: '' };
    const services = (ok.status === 0 ? (parse(ok.output) as { services: Record<string, Service> }).services : {}) as Record<string, Service>;
    const tmp = mkdtempSync(join(tmpdir(), 'scorecar-compose-'));
    afterAll(() => rmSync(tmp, { recursive: true, force: true }));

    it('parses, interpolates and validates', () => {
      expect(ok.output).not.toMatch(/invalid|Unsupported/i);
      expect(ok.status).toBe(0);
      expect(Object.keys(services).sort()).toEqual(['emulator', 'scorecar', 'scorecar-emulated', 'sglang', 'valkey']);
    });

    it('accepts --profile gpu and --profile emulator', () => {
      for (const p of ['gpu', 'emulator']) expect(config(COMPOSE, { SCORECAR_CACHE_KEY_SECRET: SECRET }, ['--profile', p]).status).toBe(0);
    });

    it('puts SGLang and its scorecar in the gpu profile, the emulator pair in the emulator profile, Valkey in both', () => {
      expect(services.valkey?.profiles).toBeUndefined();
      expect(services.sglang?.profiles).toEqual(['gpu']);
      expect(services.scorecar?.profiles).toEqual(['gpu']);
      expect(services.emulator?.profiles).toEqual(['emulator']);
      expect(services['scorecar-emulated']?.profiles).toEqual(['emulator']);
    });

    it('reserves one NVIDIA GPU for SGLang', () => {
      expect(services.sglang?.deploy?.resources?.reservations?.devices).toEqual([{ driver: 'nvidia', count: 1, capabilities: ['gpu'] }]);
    });

    it('both scorecars share Valkey and take the cache-key secret from the environment', () => {
      for (const s of ['scorecar', 'scorecar-emulated']) {
        const env = services[s]?.environment ?? {};
        expect(env.SCORECAR_SCORE_CACHE).toBe('valkey://valkey:6379');
        expect(env.SCORECAR_CACHE_KEY_SECRET).toBe(SECRET);
        expect(scorecarEnvProblems(Object.keys(env))).toEqual([]);
      }
      expect(services.scorecar?.environment?.SCORECAR_BACKEND).toBe('http://sglang:30000');
    });

    it('the emulator profile runs `scorecar emulate` on the port its scorecar calls', () => {
      const cmd = services.emulator?.command ?? [];
      expect(cmd[0]).toBe('emulate');
      const port = cmd[cmd.indexOf('--port') + 1];
      expect(services['scorecar-emulated']?.environment?.SCORECAR_BACKEND).toBe(`http://emulator:${port}`);
      expect(cmd[cmd.indexOf('--host') + 1]).toBe('0.0.0.0');
      expect(services.emulator?.image).toBe(services['scorecar-emulated']?.image);
    });

    it('refuses to start without SCORECAR_CACHE_KEY_SECRET', () => {
      const r = config(COMPOSE, {});
      expect(r.status).not.toBe(0);
      expect(r.output).toMatch(/SCORECAR_CACHE_KEY_SECRET/);
    });

    it.each([
      ['profiles as a string', /profiles: \["gpu"\]\n    build/, 'profiles: gpu\n    build', /profiles contains an invalid type/],
      ['a misspelt device capability key', /capabilities: \[gpu\]/, 'capabilitiez: [gpu]', /capabilitiez/],
      ['an unknown service option', /shm_size:/, 'shm_sise:', /Unsupported config option.*shm_sise/],
    ])('rejects a copy with %s (the validator is live)', (_what, from, to, error) => {
      const text = readFileSync(COMPOSE, 'utf8');
      const bad = text.replace(from, to);
      expect(bad).not.toBe(text);
      const f = join(tmp, 'compose.yaml');
      writeFileSync(f, bad);
      const r = config(f, { SCORECAR_CACHE_KEY_SECRET: SECRET });
      expect(r.status).not.toBe(0);
      expect(r.output).toMatch(error);
    });
  });
});
