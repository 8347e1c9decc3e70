import { type Attributes, type Context, type Link, type Span, SpanKind, SpanStatusCode, type TextMapGetter, type Tracer } from '@opentelemetry/api';
// Types only: the SDK, the exporter and the propagator load (tracing-sdk.ts) only when tracing is on.
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';

/** W3C Trace Context headers: what a client sends, and what goes on to SGLang. */
export const TRACEPARENT = 'traceparent';
export const TRACESTATE = 'tracestate';

/** Longest traceparent/tracestate taken from a client (a valid traceparent is 55 characters; tracestate at most 512 by the spec). */
const MAX_TRACE_HEADER = 512;

export interface TracingOptions {
  /**
   * OTLP/HTTP endpoint. A base URL (http://collector:4318) gets /v1/traces appended, as the
   * OTEL_EXPORTER_OTLP_ENDPOINT convention has it; a URL already ending in /v1/traces is used as is.
   */
  endpoint: string | null;
  serviceName: string;
  /** Tests and embedders: export here instead of OTLP/HTTP (each span as it ends, unless `batch`). */
  exporter?: SpanExporter;
  /** With `exporter`: batch as the OTLP path does (benchmarks), rather than export span by span. */
  batch?: boolean;
  /**
   * Share of new traces recorded (requests without a sampled traceparent), 0..1; default 1. A
   * client's sampled flag is always followed (parent-based sampling).
   */
  sampleRatio?: number;
  /** Told when an export fails (the collector down, say); spans of that batch are lost. */
  onExportError?: (message: string) => void;
}

/** The OTLP traces URL an endpoint option stands for. */
export function tracesUrl(endpoint: string): string {
  const base = endpoint.replace(/\/+$/, '');
  return base.endsWith('/v1/traces') ? base : `${base}/v1/traces`;
}

/**
 * The endpoint tracing exports to, from the flag or the standard OpenTelemetry environment:
 * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (a full URL) or OTEL_EXPORTER_OTLP_ENDPOINT (a base URL).
 * null: tracing is off (the default). OTEL_SDK_DISABLED=true turns it off whatever is set.
 */
export function tracingEndpoint(flag: string | null, env: NodeJS.ProcessEnv = process.env): string | null {
  if (env.OTEL_SDK_DISABLED === 'true') return null;
  if (flag !== null && flag !== '') return tracesUrl(flag);
  const full = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  if (full !== undefined && full !== '') return full;
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (base !== undefined && base !== '') return tracesUrl(base);
  return null;
}

/** service.name: the flag when set to other than its default, else OTEL_SERVICE_NAME, else scorecar. */
export function tracingServiceName(flag: string | null | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (flag !== null && flag !== undefined && flag !== '' && flag !== 'scorecar') return flag;
  const fromEnv = env.OTEL_SERVICE_NAME;
  return fromEnv !== undefined && fromEnv !== '' ? fromEnv : 'scorecar';
}

/** Headers as node parses them (or gRPC metadata copied into one): traceparent and tracestate are read. */
export type TraceHeaders = NodeJS.Dict<string | string[]>;

/** Reads the two trace headers, bounded: anything longer is ignored as if absent. */
export const headerGetter: TextMapGetter<TraceHeaders> = {
  keys: () => [TRACEPARENT, TRACESTATE],
  get(carrier, key) {
    if (key !== TRACEPARENT && key !== TRACESTATE) return undefined;
    const v = carrier[key];
    const s = Array.isArray(v) ? v[0] : v;
    return s !== undefined && s.length <= MAX_TRACE_HEADER ? s : undefined;
  },
};

/** A client's traceparent as it may be forwarded unchanged (tracing off): bounded, else null. */
export function forwardableTraceparent(v: string | string[] | undefined): string | null {
  const s = Array.isArray(v) ? v[0] : v;
  return s !== undefined && s.length <= MAX_TRACE_HEADER ? s : null;
}

/** `traceparent` for a span: version 00, its trace and span ids, its sampled flag. */
export function traceparentOf(span: Span): string {
  const c = span.spanContext();
  return `00-${c.traceId}-${c.spanId}-${(c.traceFlags & 1) === 1 ? '01' : '00'}`;
}

/**
 * One request's server span and the context its children hang from. Pipeline stages whose
 * timings the x-scorecar-* headers already measure are recorded as child spans with explicit
 * start and end times (performance.now() values) after the fact, so no async code is wrapped
 * and nothing is kept per stage while it runs.
 */
export class RequestTrace {
  constructor(
    private readonly tracer: Tracer,
    readonly span: Span,
    readonly context: Context,
  ) {}

  /** A finished stage: a child span from start to end (performance.now() milliseconds). */
  stage(name: string, start: number, end: number, attributes?: Attributes): void {
    this.tracer.startSpan(name, { startTime: start, attributes }, this.context).end(end);
  }

  /** A child span that is open now (a backend call): the caller ends it. */
  child(name: string, kind: SpanKind, start: number, links?: Link[]): Span {
    return this.tracer.startSpan(name, { kind, startTime: start, links }, this.context);
  }

  /** Ends the request with its HTTP status (0: not HTTP); `error` marks the span failed. */
  end(status: number, end: number, error: boolean): void {
    const s = this.span;
    if (status !== 0) s.setAttribute('http.response.status_code', status);
    if (error) s.setStatus({ code: SpanStatusCode.ERROR });
    s.end(end);
  }
}

/**
 * Tracing, when on (tracing-sdk.ts): it starts request spans and exports them. When off there
 * is no Tracing object at all: callers hold `Tracing | null` and test it once per request, so
 * the off path allocates nothing.
 */
export interface Tracing {
  /**
   * Starts a request's server span, continuing the client's trace when it sent a valid
   * traceparent (a child of the client's span, in its trace; sampled as the client decided).
   * null when the request is not sampled.
   */
  startRequest(name: string, headers: TraceHeaders, start: number, attributes: Attributes): RequestTrace | null;
  /** Exports what has ended and stops. */
  shutdown(): Promise<void>;
  /** Exports what has ended now. */
  flush(): Promise<void>;
}

export { SpanKind, SpanStatusCode };
