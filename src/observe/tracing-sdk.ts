import { type Attributes, ROOT_CONTEXT, SpanKind, type Tracer, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, ParentBasedSampler, SimpleSpanProcessor, TraceIdRatioBasedSampler } from '@opentelemetry/sdk-trace-base';
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

  constructor(opts: TracingOptions) {
    const exporter = opts.exporter ?? new OTLPTraceExporter({ url: tracesUrl(opts.endpoint ?? 'http://localhost:4318') });
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
    await this.provider.shutdown();
  }

  /** Exports what has ended now. */
  async flush(): Promise<void> {
    await this.provider.forceFlush();
  }
}

