import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { parseAllDocuments } from 'yaml';
import { ROOT } from './support.js';

/** One Kubernetes object from a manifest file. */
export interface Manifest {
  file: string;
  index: number;
  doc: Record<string, unknown> & { apiVersion: string; kind: string; metadata?: { name?: string; namespace?: string; labels?: Record<string, string> } };
}

/** Reads every document of a multi-document YAML file; YAML errors and non-objects throw. */
export function loadManifests(file: string): Manifest[] {
  const docs = parseAllDocuments(readFileSync(file, 'utf8'), { prettyErrors: true });
  const out: Manifest[] = [];
  docs.forEach((d, index) => {
    if (d.errors.length > 0) throw new Error(`${file} document ${index}: ${d.errors.map((e) => e.message).join('; ')}`);
    const doc = d.toJS({ maxAliasCount: 0 }) as unknown;
    if (doc === null) return; // an empty document (a trailing ---)
    if (typeof doc !== 'object' || Array.isArray(doc)) throw new Error(`${file} document ${index}: not a mapping`);
    const o = doc as Manifest['doc'];
    if (typeof o.apiVersion !== 'string' || typeof o.kind !== 'string') throw new Error(`${file} document ${index}: no apiVersion/kind`);
    out.push({ file, index, doc: o });
  });
  return out;
}

/**
 * The npm module that holds the model (class, schema validator and TypeScript type) for an
 * apiVersion/kind: kubernetes-models for the built-in API groups (the Kubernetes OpenAPI
 * schemas, bundled), @kubernetes-models/prometheus-operator for monitoring.coreos.com (the
 * Prometheus Operator's CRD schemas, bundled). Unknown groups throw: nothing goes unchecked.
 */
export function modelModule(apiVersion: string, kind: string): string {
  if (!/^[A-Z][A-Za-z0-9]*$/.test(kind)) throw new Error(`bad kind ${kind}`);
  const [group, version] = apiVersion.includes('/') ? (apiVersion.split('/') as [string, string]) : ['', apiVersion];
  if (group === 'monitoring.coreos.com') return `@kubernetes-models/prometheus-operator/${group}/${version}/${kind}`;
  if (group.includes('.') && !group.endsWith('.k8s.io')) throw new Error(`${apiVersion} ${kind}: no bundled schema for this API group`);
  return `kubernetes-models/${group === '' ? '' : `${group}/`}${version}/${kind}`;
}

interface ModelClass {
  new (data: unknown): { validate(): void };
}

/** Validates one object against its bundled JSON schema; returns the error text or null. */
export async function schemaError(m: Manifest): Promise<string | null> {
  const mod = (await import(modelModule(m.doc.apiVersion, m.doc.kind))) as Record<string, unknown>;
  const Model = mod[m.doc.kind] as ModelClass | undefined;
  if (typeof Model !== 'function') throw new Error(`${modelModule(m.doc.apiVersion, m.doc.kind)} exports no ${m.doc.kind}`);
  try {
    new Model(m.doc).validate();
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

/**
 * Field names the API server would reject as unknown (kubectl's strict field validation): the
 * Kubernetes OpenAPI schemas leave additionalProperties open, so the JSON-schema check above
 * accepts a misspelt `readinesProbe`. Each object is type-checked instead, as an object literal
 * of the model's TypeScript interface (generated from the same schemas), whose excess-property
 * check names every field the type does not have, at any depth. Returns one message per problem.
 */
export function unknownFieldErrors(manifests: Manifest[]): string[] {
  const virtual = new Map<string, Manifest>();
  manifests.forEach((m, i) => virtual.set(join(ROOT, 'test', 'deploy', `__k8s_manifest_${i}.ts`), m));
  const sourceOf = (m: Manifest): string =>
    `import type { I${m.doc.kind} as T } from ${JSON.stringify(modelModule(m.doc.apiVersion, m.doc.kind))};\n` +
    `export const manifest: T = ${JSON.stringify(m.doc, null, 1)};\n`;
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const baseGetSource = host.getSourceFile.bind(host);
  host.fileExists = ((base) => (f: string) => virtual.has(f) || base(f))(host.fileExists.bind(host));
  host.readFile = ((base) => (f: string) => {
    const m = virtual.get(f);
    return m ? sourceOf(m) : base(f);
  })(host.readFile.bind(host));
  host.getSourceFile = (f, lang, onError, create) => {
    const m = virtual.get(f);
    return m ? ts.createSourceFile(f, sourceOf(m), lang, true) : baseGetSource(f, lang, onError, create);
  };
  const program = ts.createProgram([...virtual.keys()], options, host);
  const out: string[] = [];
  for (const d of ts.getPreEmitDiagnostics(program)) {
    const m = d.file ? virtual.get(d.file.fileName) : undefined;
    const where = m ? `${relative(ROOT, m.file)} document ${m.index} (${m.doc.kind} ${m.doc.metadata?.name ?? '?'})` : (d.file?.fileName ?? 'compiler');
    out.push(`${where}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`);
  }
  return out;
}
