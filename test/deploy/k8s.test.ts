import { join, relative } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Manifest, loadManifests, schemaError, unknownFieldErrors } from './k8s-schema.js';
import { scorecarEnvProblems } from './env-names.js';
import { DOCKER, ROOT, filesUnder } from './support.js';

const K8S = join(DOCKER, 'k8s');
const FILES = filesUnder(K8S, /\.ya?ml$/);
const ALL = FILES.flatMap(loadManifests);
const name = (m: Manifest): string => `${relative(ROOT, m.file)}#${m.index} ${m.doc.kind}/${m.doc.metadata?.name ?? '?'}`;
const ofKind = (kind: string): Manifest[] => ALL.filter((m) => m.doc.kind === kind);

// Loose views of the fields the cross-reference checks read (the schema checks type them fully).
interface Container {
  name: string;
  ports?: Array<{ name?: string; containerPort: number }>;
  env?: Array<{ name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string; optional?: boolean } } }>;
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  startupProbe?: Probe;
  resources?: { requests?: Record<string, unknown>; limits?: Record<string, unknown> };
}
interface Probe {
  httpGet?: { path?: string; port: string | number };
  tcpSocket?: { port: string | number };
}
interface PodTemplate {
  metadata?: { labels?: Record<string, string> };
  spec: { containers: Container[]; nodeSelector?: Record<string, string>; tolerations?: Array<{ key?: string }> };
}
const template = (m: Manifest): PodTemplate => (m.doc.spec as { template: PodTemplate }).template;
const workloads = (): Manifest[] => ALL.filter((m) => m.doc.kind === 'Deployment' || m.doc.kind === 'StatefulSet');
const matches = (selector: Record<string, string>, labels: Record<string, string> | undefined): boolean =>
  Object.entries(selector).every(([k, v]) => labels?.[k] === v);
const byName = (kind: string, n: string): Manifest => {
  const m = ofKind(kind).find((x) => x.doc.metadata?.name === n);
  if (!m) throw new Error(`no ${kind} named ${n}`);
  return m;
};

describe('Kubernetes manifests (docker/k8s)', () => {
  it('has the objects the deployment needs', () => {
    const kinds = ALL.map((m) => `${m.doc.kind}/${m.doc.metadata?.name ?? ''}`).sort();
    for (const k of [
      'Deployment/scorecar',
      'Service/scorecar',
      'PodDisruptionBudget/scorecar',
      'HorizontalPodAutoscaler/scorecar',
      'ServiceMonitor/scorecar',
      'Deployment/sglang',
      'Service/sglang',
      'StatefulSet/valkey',
      'Service/valkey',
      'Secret/scorecar',
      'Namespace/scorecar',
    ]) {
      expect(kinds).toContain(k);
    }
  });

  describe('against the bundled schemas (kubernetes-models; ServiceMonitor: the Prometheus Operator CRD)', () => {
    it.each(ALL.map((m) => [name(m), m] as const))('%s', async (_n, m) => {
      expect(await schemaError(m)).toBeNull();
    });
  });

  describe('strict fields (no field the API does not know, at any depth)', () => {
    let errors: string[] = [];
    beforeAll(() => {
      errors = unknownFieldErrors(ALL);
    }, 120_000);
    it('every manifest', () => {
      expect(errors).toEqual([]);
    });
  });

  describe('the checks are live', () => {
    const deployment = (): Manifest => structuredClone(byName('Deployment', 'scorecar'));
    it('a wrong type fails the schema check', async () => {
      const m = deployment();
      (template(m).spec.containers[0] as unknown as { ports: unknown }).ports = [{ containerPort: 'http' }];
      expect(await schemaError(m)).toMatch(/containerPort must be integer/);
    });
    it('a ServiceMonitor with a bad interval fails its CRD schema', async () => {
      const m = structuredClone(byName('ServiceMonitor', 'scorecar'));
      (m.doc.spec as { endpoints: Array<{ interval: string }> }).endpoints[0]!.interval = 'often';
      expect(await schemaError(m)).toMatch(/interval must match pattern/);
    });
    it('a misspelt field fails the strict check, with its name', () => {
      const m = deployment();
      const c = template(m).spec.containers[0] as unknown as Record<string, unknown>;
      c.readinesProbe = c.readinessProbe;
      delete c.readinessProbe;
      const errs = unknownFieldErrors([m]);
      expect(errs.join('\n')).toMatch(/readinesProbe/);
    }, 120_000);
  });

  describe('references between objects', () => {
    it('every object is in the scorecar namespace (but the Namespace itself)', () => {
      for (const m of ALL) if (m.doc.kind !== 'Namespace') expect(m.doc.metadata?.namespace, name(m)).toBe('scorecar');
    });

    it("every Service selects a workload's pods, and its target ports are named container ports", () => {
      for (const s of ofKind('Service')) {
        const spec = s.doc.spec as { selector: Record<string, string>; ports: Array<{ targetPort: string | number }> };
        const targets = workloads().filter((w) => matches(spec.selector, template(w).metadata?.labels));
        expect(targets.length, name(s)).toBe(1);
        const ports = template(targets[0] as Manifest).spec.containers.flatMap((c) => c.ports ?? []);
        for (const p of spec.ports) {
          if (typeof p.targetPort === 'string') expect(ports.map((x) => x.name), `${name(s)} targetPort ${p.targetPort}`).toContain(p.targetPort);
          else expect(ports.map((x) => x.containerPort)).toContain(p.targetPort);
        }
      }
    });

    it('probes use named ports that exist; scorecar is ready on /health and alive on its socket', () => {
      for (const w of workloads()) {
        for (const c of template(w).spec.containers) {
          const names = (c.ports ?? []).map((p) => p.name);
          for (const p of [c.readinessProbe, c.livenessProbe, c.startupProbe]) {
            const port = p?.httpGet?.port ?? p?.tcpSocket?.port;
            if (typeof port === 'string') expect(names, `${name(w)} probe port ${port}`).toContain(port);
          }
          expect(c.readinessProbe, `${name(w)} has a readiness probe`).toBeDefined();
          expect(c.livenessProbe, `${name(w)} has a liveness probe`).toBeDefined();
          expect(c.resources?.requests, `${name(w)} requests resources`).toBeDefined();
        }
      }
      const scorecar = template(byName('Deployment', 'scorecar')).spec.containers[0] as Container;
      expect(scorecar.readinessProbe?.httpGet?.path).toBe('/health');
      expect(scorecar.livenessProbe?.tcpSocket).toBeDefined();
    });

    it('the PodDisruptionBudget and the HorizontalPodAutoscaler point at the scorecar Deployment', () => {
      const pdb = byName('PodDisruptionBudget', 'scorecar').doc.spec as { selector: { matchLabels: Record<string, string> } };
      expect(matches(pdb.selector.matchLabels, template(byName('Deployment', 'scorecar')).metadata?.labels)).toBe(true);
      const hpa = byName('HorizontalPodAutoscaler', 'scorecar').doc.spec as { scaleTargetRef: { kind: string; name: string }; minReplicas: number };
      expect(byName(hpa.scaleTargetRef.kind, hpa.scaleTargetRef.name)).toBeDefined();
      expect(hpa.minReplicas).toBeGreaterThanOrEqual(2); // the PDB's maxUnavailable 1 then leaves one serving
    });

    it("the ServiceMonitor selects the scorecar Service and scrapes a port that Service has", () => {
      const sm = byName('ServiceMonitor', 'scorecar').doc.spec as { selector: { matchLabels: Record<string, string> }; endpoints: Array<{ port: string; path: string }> };
      const services = ofKind('Service').filter((s) => matches(sm.selector.matchLabels, s.doc.metadata?.labels));
      expect(services.map((s) => s.doc.metadata?.name)).toEqual(['scorecar']);
      const ports = (services[0]?.doc.spec as { ports: Array<{ name: string }> }).ports.map((p) => p.name);
      for (const e of sm.endpoints) {
        expect(ports).toContain(e.port);
        expect(e.path).toBe('/metrics');
      }
    });

    it('every secretKeyRef names a key of the scorecar Secret (or is optional)', () => {
      const secret = byName('Secret', 'scorecar').doc as unknown as { stringData: Record<string, string> };
      for (const w of workloads()) {
        for (const c of template(w).spec.containers) {
          for (const e of c.env ?? []) {
            const ref = e.valueFrom?.secretKeyRef;
            if (!ref || ref.optional) continue;
            expect(ref.name, `${name(w)} ${e.name}`).toBe('scorecar');
            expect(Object.keys(secret.stringData), `${name(w)} ${e.name}`).toContain(ref.key);
          }
        }
      }
    });

    it('scorecar reads the cache-key secret from the Secret, the cache from Valkey and its backends from the headless SGLang Service', () => {
      const env = new Map((template(byName('Deployment', 'scorecar')).spec.containers[0]?.env ?? []).map((e) => [e.name, e]));
      expect(env.get('SCORECAR_CACHE_KEY_SECRET')?.valueFrom?.secretKeyRef).toEqual({ name: 'scorecar', key: 'cache-key-secret' });
      const valkey = byName('Service', 'valkey').doc.spec as { ports: Array<{ port: number }> };
      expect(env.get('SCORECAR_SCORE_CACHE')?.value).toBe(`valkey://valkey.scorecar.svc.cluster.local:${valkey.ports[0]?.port}`);
      const sglang = byName('Service', 'sglang').doc.spec as { clusterIP?: string; ports: Array<{ port: number }> };
      expect(sglang.clusterIP).toBe('None');
      expect(env.get('SCORECAR_BACKEND_DNS')?.value).toBe(`http://sglang.scorecar.svc.cluster.local:${sglang.ports[0]?.port}`);
    });

    it('every SCORECAR_* variable of the scorecar pods is an option of `serve`', () => {
      const names = (template(byName('Deployment', 'scorecar')).spec.containers[0]?.env ?? []).map((e) => e.name);
      expect(scorecarEnvProblems(names)).toEqual([]);
    });

    it('SGLang pods ask for a GPU and go only to GPU nodes', () => {
      const spec = template(byName('Deployment', 'sglang')).spec;
      const c = spec.containers[0] as Container;
      expect(c.resources?.limits?.['nvidia.com/gpu']).toBe(1);
      expect(spec.nodeSelector).toBeDefined();
      expect(spec.tolerations?.map((t) => t.key)).toContain('nvidia.com/gpu');
    });
  });
});
