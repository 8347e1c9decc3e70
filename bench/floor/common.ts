import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, fetch } from 'undici';

/**
 * What bench:floor and bench:hotpath share: processes pinned to a core with taskset, a process's
 * own CPU time from /proc, wrk runs measured per proxy CPU-second, the floor body, and the run
 * itself (its processes stopped however it ends, its report written to .bench-out/).
 */
export const CLOSED_SECONDS = 8;
export const CONNECTIONS = 32;
export const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
export const DIST = join(ROOT, 'dist');
const CLK_TCK = 100;

export interface Proc {
  name: string;
  child: ChildProcess;
  url: string;
  /** The pid whose CPU time is the proxy's (nginx: its worker). */
  cpuPid(): number;
}

/**
 * GET url's body on a connection of its own. The runs between two reads hold this process in a
 * synchronous wrk for 8 s, longer than a server's keep-alive: a pooled connection is then closed
 * under the next read ("other side closed"), so reads never reuse one.
 */
const fresh = new Agent({ pipelining: 0 });
export async function readText(url: string): Promise<string> {
  return (await fetch(url, { dispatcher: fresh })).text();
}

/** Sum of a metric's samples in a Prometheus exposition, those whose labels hold `label` if given. */
export function metricSum(text: string, name: string, label?: string): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== ' ' && rest[0] !== '{') continue;
    if (label !== undefined && !rest.includes(label)) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/** Heap bytes allocated, GC seconds and /v1/score items so far, as a process reports them. */
export interface HeapSample {
  heapBytes: number;
  gcSeconds: number;
  items: number;
}

/** A scorecar's HeapSample, read from its own /metrics. */
export async function scorecarSample(p: Proc): Promise<HeapSample> {
  const m = await readText(`${p.url}/metrics`);
  return {
    heapBytes: metricSum(m, 'scorecar_heap_allocated_bytes_total'),
    gcSeconds: metricSum(m, 'scorecar_gc_pause_seconds_sum'),
    items: metricSum(m, 'scorecar_items_total', 'route="/v1/score"'),
  };
}

export function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

export function ensureTools(): void {
  const missing = ['nginx', 'wrk', 'taskset'].filter((t) => {
    try {
      execFileSync('sh', ['-c', `command -v ${t}`], { stdio: 'ignore' });
      return false;
    } catch {
      return true;
    }
  });
  if (missing.length === 0) return;
  const pkgs = missing.map((t) => (t === 'taskset' ? 'util-linux' : t));
  if (process.getuid?.() !== 0) throw new Error(`bench:floor needs ${missing.join(', ')}: sudo apt-get install -y ${pkgs.join(' ')}`);
  log(`installing ${pkgs.join(', ')} with apt`);
  execFileSync('sh', ['-c', `apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ${pkgs.join(' ')}`], { stdio: 'inherit' });
}

export function startPinned(name: string, core: number, cmd: string, args: string[], ready: RegExp | null, url?: string): Promise<Proc> {
  const child = spawn('taskset', ['-c', String(core), cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start: ${out}`)), 30_000);
    const done = (u: string): void => {
      clearTimeout(timer);
      resolve({ name, child, url: u, cpuPid: () => child.pid as number });
    };
    const onData = (c: Buffer): void => {
      out += c.toString();
      const m = ready?.exec(out);
      if (m) done(m[1] as string);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${name} exited ${code}: ${out}`)));
    if (ready === null && url !== undefined) setTimeout(() => done(url), 500);
  });
}

export function freePort(): number {
  return 20000 + Math.floor(Math.random() * 20000);
}

/** utime + stime of a process (all its threads), in seconds. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

export function nginxWorker(masterPid: number): number {
  const children = readFileSync(`/proc/${masterPid}/task/${masterPid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
  if (children.length !== 1) throw new Error(`nginx master ${masterPid} has ${children.length} workers, expected 1`);
  return Number(children[0]);
}

export function ids(n: number, seed: number): number[] {
  return Array.from({ length: n }, (_, i) => ((seed * 7919 + i * 104729) % 150000) + 10);
}

export const BODY = JSON.stringify({
  query: ids(50, 1),
  items: Array.from({ length: 10 }, (_, k) => ids(170, k + 2)),
  label_token_ids: [9693, 2152],
  apply_softmax: true,
});

/** BODY as Python's json.dumps (requests' json=) writes it: ", " and ": " (BODY has no strings holding either). */
export const PYTHON_BODY = BODY.replace(/,/g, ', ').replace(/":/g, '": ');

export interface Closed {
  rps: number;
  cpuS: number;
  wallS: number;
  requests: number;
}

/** One closed-loop wrk run against url's /v1/score; `args` go to the script's init(). */
export function runWrk(url: string, script: string, pid: number, args: string[] = []): Closed {
  const before = cpuSeconds(pid);
  const t0 = performance.now();
  const out = execFileSync('taskset', ['-c', '1', 'wrk', '-t1', `-c${CONNECTIONS}`, `-d${CLOSED_SECONDS}s`, '-s', script, `${url}/v1/score`, ...(args.length > 0 ? ['--', ...args] : [])], { encoding: 'utf8' });
  const wallS = (performance.now() - t0) / 1000;
  const cpuS = cpuSeconds(pid) - before;
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const requests = Number(/(\d+) requests in/.exec(out)?.[1]);
  if (/Non-2xx/.test(out)) throw new Error(`non-2xx answers through ${url}:\n${out}`);
  return { rps, cpuS, wallS, requests };
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/** A wrk script posting one fixed body. */
export function staticScript(body: string): string {
  return `wrk.method = "POST"\nwrk.headers["content-type"] = "application/json"\nwrk.body = ${JSON.stringify(body)}\n`;
}

/** Writes a bench's report to .bench-out/NAME.md and prints it. */
export function writeReport(name: string, md: string): void {
  mkdirSync(join(ROOT, '.bench-out'), { recursive: true });
  writeFileSync(join(ROOT, `.bench-out/${name}.md`), md);
  process.stdout.write(`${md}\nwrote .bench-out/${name}.md\n`);
}

/** Runs a bench: the processes it adds to `procs` are stopped however it ends, and a failure exits 1. */
export function runBench(name: string, main: (procs: Proc[]) => Promise<void>): void {
  const procs: Proc[] = [];
  main(procs)
    .catch((e: unknown) => {
      const cause = (e as Error).cause;
      process.stderr.write(`bench:${name}: ${(e as Error).stack ?? e}${cause !== undefined ? `\ncaused by: ${(cause as Error).stack ?? cause} ${JSON.stringify((cause as { cause?: unknown }).cause ?? null)}` : ''}\n`);
      process.exitCode = 1;
    })
    .finally(() => {
      for (const p of procs.reverse()) p.child.kill('SIGTERM');
    });
}
