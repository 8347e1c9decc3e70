import os from 'node:os';

/** Where a run happened: numbers from different machines are not comparable. */
export interface MachineInfo {
  hostname: string;
  platform: string;
  release: string;
  arch: string;
  node: string;
  v8: string;
  cpuCount: number;
  /** os.cpus(), without the tick counters. */
  cpus: Array<{ model: string; speedMHz: number }>;
  totalMemoryBytes: number;
  loadAverage: number[];
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus().map((c) => ({ model: c.model, speedMHz: c.speed }));
  return {
    hostname: os.hostname(),
    platform: os.platform(),
    release: os.release(),
    arch: os.arch(),
    node: process.version,
    v8: process.versions.v8,
    cpuCount: cpus.length,
    cpus,
    totalMemoryBytes: os.totalmem(),
    loadAverage: os.loadavg(),
  };
}

/** One line for humans: "4 x Intel(R) Xeon(R) ... @ 2200 MHz". */
export function describeCpus(m: MachineInfo): string {
  const models = new Map<string, number>();
  for (const c of m.cpus) models.set(`${c.model} @ ${c.speedMHz} MHz`, (models.get(`${c.model} @ ${c.speedMHz} MHz`) ?? 0) + 1);
  return [...models].map(([model, n]) => `${n} x ${model}`).join(', ') || 'unknown';
}
