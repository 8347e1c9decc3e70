import type { CorpusMode, CorpusStats } from '../workload/corpus.js';
import type { NavigationConfig } from '../workload/requests.js';
import type { BurstConfig } from '../loadgen/arrivals.js';
import type { SearchStep, StopReason } from '../loadgen/slo-search.js';
import type { MetricNames } from './scrape.js';
import type { MachineInfo } from './machine.js';

export const REPORT_SCHEMA = 'scorecar-bench/1';

/** The machine-readable result of one `scorecar bench` run (what --json writes). */
export interface BenchReport {
  schema: typeof REPORT_SCHEMA;
  name: string;
  /**
   * True for runs against the emulator (--simulated, or detected from a target's /server_info):
   * every rendering of the report says "simulated".
   */
  simulated: boolean;
  createdAt: string;
  durationSeconds: number;
  machine: MachineInfo;
  /** Operator's label for the state of scorecar's token caches when the run started. */
  tokenCacheState: 'cold' | 'warm';
  config: {
    slo: { percentile: number; ms: number; maxErrorRate: number };
    search: {
      startRps: number;
      growth: number;
      minRps: number;
      maxRps: number;
      tolerance: number;
      maxSteps: number;
      warmupSeconds: number;
      stepSeconds: number;
      timeoutMs: number;
      cooldownMs: number;
      settleMaxMs: number;
      maxSeconds: number;
      quick: boolean;
    };
    arrivals: { process: 'poisson' | 'on-off'; burst: BurstConfig | null };
    itemsPerRequest: number;
    connections: number;
    seed: number;
    metrics: { url: string | null; names: MetricNames };
  };
  workload: {
    mode: CorpusMode;
    template: string;
    templateVersion: number;
    seed: number;
    stats: CorpusStats;
    navigation: NavigationConfig | null;
    familyAffinity: number;
  };
  targets: TargetReport[];
  notes: string[];
}

export interface TargetReport {
  name: string;
  kind: string;
  url: string;
  /** The emulator's cost profile when the target is (or fronts) the scorecar emulator, else null. */
  emulatorProfile: string | null;
  bestRps: number | null;
  bestItemsPerSecond: number | null;
  stopReason: StopReason;
  steps: SearchStep[];
}
