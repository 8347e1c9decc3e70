/**
 * Tracing's entry point: the W3C trace-context helpers and request spans (trace-context.ts), and
 * createTracing, which loads the OpenTelemetry SDK (tracing-sdk.ts) only when tracing is on.
 */
import type { Tracing, TracingOptions } from './trace-context.js';

export * from './trace-context.js';

/**
 * Tracing for these options, or null when off. The OpenTelemetry SDK and the OTLP exporter
 * (about 120 ms and 17 MB to load here) are imported only when tracing is on.
 */
export async function createTracing(opts: TracingOptions): Promise<Tracing | null> {
  if (opts.endpoint === null && opts.exporter === undefined) return null;
  const { SdkTracing } = await import('./tracing-sdk.js');
  return new SdkTracing(opts);
}

