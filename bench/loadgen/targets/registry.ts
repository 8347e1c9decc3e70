import type { ScoreTarget } from '../target.js';
import { HttpScoreTarget } from './http-score.js';
import { GrpcScoreTarget } from './grpc.js';

/**
 * Target kinds by name, as written in `--target kind=URL`. A new protocol is one factory here:
 * the gRPC Scorer target (scorecar.v1.Scorer/Score over @grpc/grpc-js, token ids in the request)
 * registers as "grpc" with registerTargetKind, and nothing else in the bench changes.
 */

/** `[label:]kind=URL`, e.g. `direct:text=http://127.0.0.1:30000`. */
export interface TargetSpec {
  label: string | null;
  kind: string;
  url: string;
}

export interface TargetOptions {
  connections: number;
  apiKey: string | null;
  labelTokenIds: readonly number[];
}

export type TargetFactory = (spec: TargetSpec, name: string, options: TargetOptions) => ScoreTarget;

const factories = new Map<string, TargetFactory>([
  ['text', (spec, name, o) => new HttpScoreTarget({ ...o, name, url: spec.url, encoding: 'text' })],
  ['ids', (spec, name, o) => new HttpScoreTarget({ ...o, name, url: spec.url, encoding: 'ids' })],
  ['grpc', (spec, name, o) => new GrpcScoreTarget({ ...o, name, url: spec.url })],
]);

export function registerTargetKind(kind: string, factory: TargetFactory): void {
  if (!/^[a-z][a-z0-9-]*$/.test(kind)) throw new Error(`bad target kind "${kind}"`);
  factories.set(kind, factory);
}

export function targetKinds(): string[] {
  return [...factories.keys()];
}

export function parseTargetSpec(s: string): TargetSpec {
  const eq = s.indexOf('=');
  if (eq <= 0) throw new Error(`--target expects [label:]kind=URL (kinds: ${targetKinds().join(', ')}), got "${s}"`);
  const left = s.slice(0, eq);
  const url = s.slice(eq + 1);
  const colon = left.lastIndexOf(':');
  const label = colon > 0 ? left.slice(0, colon) : null;
  const kind = colon > 0 ? left.slice(colon + 1) : left;
  if (!factories.has(kind)) throw new Error(`unknown target kind "${kind}" (kinds: ${targetKinds().join(', ')})`);
  try {
    new URL(url);
  } catch {
    throw new Error(`--target ${s}: "${url}" is not a URL`);
  }
  return { label, kind, url };
}

export function createTarget(spec: TargetSpec, options: TargetOptions): ScoreTarget {
  const factory = factories.get(spec.kind);
  if (!factory) throw new Error(`unknown target kind "${spec.kind}"`);
  const name = spec.label ?? `${spec.kind} ${new URL(spec.url).host}`;
  return factory(spec, name, options);
}
