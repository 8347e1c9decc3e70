import v8 from 'node:v8';

/**
 * Counts main-thread heap bytes allocated and GC pauses, from V8's own per-GC records
 * (v8.GCProfiler: heap size before and after each collection). Allocation between two reads is
 * what the heap grew by between collections, which is exact up to the few bytes the meter
 * itself allocates.
 */
export interface GcRecord {
  type: string;
  /** Pause in seconds. */
  seconds: number;
}

export class HeapMeter {
  private profiler: v8.GCProfiler | null = null;
  private lastUsed = 0;
  allocatedBytes = 0;
  gcCount = 0;
  gcSeconds = 0;
  /** Full collections (mark-compact) among gcCount: rare in the steady state, where a sidecar's start-up garbage and cache growth show. */
  majorCount = 0;
  /** Pauses of full collections: their mark-compacts and incremental marking steps. */
  majorSeconds = 0;

  start(): void {
    if (this.profiler) return;
    this.lastUsed = v8.getHeapStatistics().used_heap_size;
    this.profiler = new v8.GCProfiler();
    this.profiler.start();
  }

  /** Folds in everything since the last read; returns the GCs seen, for histograms. */
  read(): GcRecord[] {
    if (!this.profiler) return [];
    const result = this.profiler.stop();
    this.profiler.start();
    const gcs: GcRecord[] = [];
    let last = this.lastUsed;
    for (const s of result?.statistics ?? []) {
      const before = s.beforeGC.heapStatistics.usedHeapSize;
      this.allocatedBytes += Math.max(0, before - last);
      last = s.afterGC.heapStatistics.usedHeapSize;
      const seconds = s.cost / 1e6;
      this.gcCount++;
      // A full collection's pauses: its incremental marking steps and its final mark-compact.
      if (s.gcType === 'MarkSweepCompact') this.majorCount++;
      if (s.gcType === 'MarkSweepCompact' || s.gcType === 'IncrementalMarking') this.majorSeconds += seconds;
      this.gcSeconds += seconds;
      gcs.push({ type: s.gcType, seconds });
    }
    const now = v8.getHeapStatistics().used_heap_size;
    this.allocatedBytes += Math.max(0, now - last);
    this.lastUsed = now;
    return gcs;
  }

  stop(): void {
    this.profiler?.stop();
    this.profiler = null;
  }
}
