import { type Attributes, ROOT_CONTEXT, SpanKind, type Tracer, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { ExportResult } from '@opentelemetry/core';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  ParentBasedSampler,
  type ReadableSpan,
  SimpleSpanProcessor,
  type SpanExporter,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace-base';
import { RequestTrace, type TraceHeaders, type Tracing, type TracingOptions, headerGetter, tracesUrl } from './trace-context.js';

/**
 * Tracing, when on (loaded by createTracing only then): a tracer provider of its own (the global OpenTelemetry API is left alone,
 * so an embedding application's own setup is not disturbed), a batching OTLP/HTTP exporter
 * (JSON), and the W3C propagator. When off there is no Tracing object at all: callers hold
 * `Tracing | null` and test it once per request, so the off path allocates nothing.
 */
export class SdkTracing implements Tracing {
  private readonly provider: BasicTracerProvider;
  readonly tracer: Tracer;
  private readonly propagator = new W3CTraceContextPropagator();
  private readonly onExportError: ((message: string) => void) | undefined;

  constructor(opts: TracingOptions) {
    this.onExportError = opts.onExportError;
    const inner = opts.exporter ?? new OTLPTraceExporter({ url: tracesUrl(opts.endpoint ?? 'http://localhost:4318') });
    const exporter = opts.onExportError === undefined ? inner : new ReportingExporter(inner, opts.onExportError);
    const processor =
      opts.exporter !== undefined && opts.batch !== true
        ? new SimpleSpanProcessor(exporter)
        : new BatchSpanProcessor(exporter, {
            // A bounded queue: spans beyond it are dropped, never held (OpenTelemetry's defaults).
            maxQueueSize: 2048,
            maxExportBatchSize: 512,
            scheduledDelayMillis: 1000,
          });
    this.provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': opts.serviceName }),
      sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(opts.sampleRatio ?? 1) }),
      spanProcessors: [processor],
    });
    this.tracer = this.provider.getTracer('scorecar');
  }

  /**
   * Starts a request's server span, continuing the client's trace when it sent a valid
   * traceparent (a child of the client's span, in its trace; sampled as the client decided).
   * null when the request is not sampled.
   */
  startRequest(name: string, headers: TraceHeaders, start: number, attributes: Attributes): RequestTrace | null {
    const parent = this.propagator.extract(ROOT_CONTEXT, headers, headerGetter);
    const span = this.tracer.startSpan(name, { kind: SpanKind.SERVER, startTime: start, attributes }, parent);
    // Not sampled: no stage spans either; the request then goes on as if tracing were off (the
    // client's own traceparent, with its unsampled flag, is what SGLang gets).
    if (!span.isRecording()) return null;
    return new RequestTrace(this.tracer, span, trace.setSpan(parent, span));
  }

  /** Exports what has ended and stops (spans still open are not exported). */
  async shutdown(): Promise<void> {
    // The last export failing must not fail the shutdown it is part of: it is reported, not thrown.
    try {
      await this.provider.shutdown();
    } catch (e) {
      this.onExportError?.(`trace export at shutdown failed; those spans are lost: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  /** Exports what has ended now. */
  async flush(): Promise<void> {
    await this.provider.forceFlush();
  }
}


/** Most often a failing export is reported: a collector that is down must not flood the log. */
const REPORT_EVERY_MS = 60_000;

/**
 * An exporter that says when exports fail (OpenTelemetry's own diagnostics are silent unless a
 * global diag logger is set, which an embedding application may own), at most once a minute,
 * with the number of failed exports since the last report.
 */
class ReportingExporter implements SpanExporter {
  private failed = 0;
  private reportedAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly inner: SpanExporter,
    private readonly report: (message: string) => void,
  ) {}

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    this.inner.export(spans, (result) => {
      if (result.code !== 0) {
        this.failed++;
        const now = performance.now();
        if (now - this.reportedAt >= REPORT_EVERY_MS) {
          this.reportedAt = now;
          this.report(`trace export failed (${this.failed} failed export(s) since the last report; those spans are lost): ${result.error?.message ?? 'unknown error'}`);
          this.failed = 0;
        }
      }
      done(result);
    });
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}
