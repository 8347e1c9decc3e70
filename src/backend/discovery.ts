import { promises as dns } from 'node:dns';
import { type FSWatcher, promises as fsp, watch } from 'node:fs';
import { basename, dirname } from 'node:path';

/** Resolves a host name to its addresses (A and AAAA): injectable so tests need no DNS server. */
export type Resolver = (host: string) => Promise<string[]>;

/**
 * Every A and AAAA record, straight from DNS (not getaddrinfo's cache): a Kubernetes headless
 * Service answers with one record per ready pod. A name with neither record is an empty set;
 * any other failure throws, so a DNS outage keeps the last known backends.
 */
export const systemResolver: Resolver = async (host) => {
  const [v4, v6] = await Promise.allSettled([dns.resolve4(host), dns.resolve6(host)]);
  const out: string[] = [];
  if (v4.status === 'fulfilled') out.push(...v4.value);
  if (v6.status === 'fulfilled') out.push(...v6.value);
  if (out.length > 0) return out;
  for (const r of [v4, v6]) {
    const code = r.status === 'rejected' ? (r.reason as { code?: string })?.code : undefined;
    if (code !== undefined && code !== 'ENODATA' && code !== 'ENOTFOUND') throw r.status === 'rejected' ? r.reason : new Error(code);
  }
  return out;
};

/** A DNS discovery target: `host:port` or `http(s)://host:port`. */
export interface DnsTarget {
  scheme: 'http' | 'https';
  host: string;
  port: number;
}

/** Parses --backend-dns; throws an Error naming what is wrong. */
export function parseDnsTarget(spec: string): DnsTarget {
  const withScheme = /^[a-z]+:\/\//i.test(spec) ? spec : `http://${spec}`;
  let u: URL;
  try {
    u = new URL(withScheme);
  } catch {
    throw new Error(`--backend-dns ${spec}: expected host:port or http://host:port`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`--backend-dns ${spec}: must be http(s)`);
  if (u.pathname !== '/' && u.pathname !== '') throw new Error(`--backend-dns ${spec}: no path allowed`);
  if (u.port === '') throw new Error(`--backend-dns ${spec}: needs a port (the SGLang port, e.g. :30000)`);
  return { scheme: u.protocol === 'https:' ? 'https' : 'http', host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port) };
}

/** One URL per non-empty line; `#` starts a comment. Throws on a line that is not an http(s) URL. */
export function parseBackendFile(text: string, path: string): string[] {
  const out: string[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] as string).replace(/#.*/, '').trim();
    if (line === '') continue;
    let u: URL;
    try {
      u = new URL(line);
    } catch {
      throw new Error(`${path}:${i + 1}: not a URL: ${line.slice(0, 200)}`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`${path}:${i + 1}: must be http(s): ${line.slice(0, 200)}`);
    out.push(line.replace(/\/+$/, ''));
  }
  return out;
}

export interface DiscoveryOptions {
  /** --backend URLs: always part of the set. */
  static: readonly string[];
  /** --backend-file: re-read when it changes. */
  file: string | null;
  /** --backend-dns targets: re-resolved every intervalMs. */
  dns: readonly DnsTarget[];
  /** DNS re-resolution and file re-check interval, ms. */
  intervalMs: number;
  resolver?: Resolver;
  /** Called with the whole set whenever it changes (and once at start). */
  onChange(urls: string[]): Promise<unknown>;
  log?(msg: string): void;
}

function urlOf(t: DnsTarget, address: string): string {
  const host = address.includes(':') ? `[${address}]` : address;
  return `${t.scheme}://${host}:${t.port}`;
}

/**
 * The backend URL set from three sources: flags, a watched file, DNS names. The set is the
 * union; a source that fails (unreadable file, DNS outage) keeps its last good answer, so a
 * transient failure never empties the fleet. Changes go to onChange serialized, one at a time.
 */
export class BackendDiscovery {
  private fileUrls: string[] = [];
  private readonly dnsUrls = new Map<string, string[]>();
  private last = '';
  private timer: NodeJS.Timeout | null = null;
  private watcher: FSWatcher | null = null;
  private running = false;
  private chain: Promise<unknown> = Promise.resolve();
  private readonly resolver: Resolver;

  constructor(private readonly o: DiscoveryOptions) {
    this.resolver = o.resolver ?? systemResolver;
  }

  /** The first read of every source (a bad file fails the start), then the watch and the timer. */
  async start(): Promise<void> {
    this.running = true;
    if (this.o.file !== null) this.fileUrls = parseBackendFile(await fsp.readFile(this.o.file, 'utf8'), this.o.file);
    await this.resolveAll();
    await this.publish();
    if (this.o.file !== null) this.watchFile(this.o.file);
    const tick = (): void => {
      if (!this.running) return;
      void this.refresh().finally(() => {
        if (this.running) this.timer = setTimeout(tick, this.o.intervalMs);
      });
    };
    this.timer = setTimeout(tick, this.o.intervalMs);
  }

  /** The current union of all sources. */
  urls(): string[] {
    const all = new Set<string>(this.o.static.map((u) => u.replace(/\/+$/, '')));
    for (const u of this.fileUrls) all.add(u);
    for (const list of this.dnsUrls.values()) for (const u of list) all.add(u);
    return [...all].sort();
  }

  /** Re-reads the file and re-resolves every name now. */
  async refresh(): Promise<void> {
    await this.readFile();
    await this.resolveAll();
    await this.publish();
  }

  stop(): void {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.watcher?.close();
    this.watcher = null;
  }

  /**
   * Watches the file's directory, not the file: editors and Kubernetes ConfigMaps replace the
   * file by a rename, which a watch on the old inode would miss. The interval re-reads too.
   */
  private watchFile(path: string): void {
    try {
      const name = basename(path);
      this.watcher = watch(dirname(path), (_event, f) => {
        if (f !== null && f !== name && !String(f).startsWith('..')) return;
        void this.readFile().then(() => this.publish());
      });
      this.watcher.on('error', () => {
        this.watcher?.close();
        this.watcher = null;
      });
      this.watcher.unref();
    } catch {
      this.watcher = null; // the interval still re-reads it
    }
  }

  private async readFile(): Promise<void> {
    const path = this.o.file;
    if (path === null) return;
    try {
      this.fileUrls = parseBackendFile(await fsp.readFile(path, 'utf8'), path);
    } catch (e) {
      this.o.log?.(`--backend-file ${path}: ${(e as Error).message}; keeping the last good list (${this.fileUrls.length} backends)`);
    }
  }

  private async resolveAll(): Promise<void> {
    await Promise.all(
      this.o.dns.map(async (t) => {
        const key = `${t.scheme}://${t.host}:${t.port}`;
        try {
          const addrs = await this.resolver(t.host);
          this.dnsUrls.set(key, [...new Set(addrs)].map((a) => urlOf(t, a)));
        } catch (e) {
          this.o.log?.(`--backend-dns ${key}: ${(e as Error)?.message ?? e}; keeping the last answer (${this.dnsUrls.get(key)?.length ?? 0} backends)`);
        }
      }),
    );
  }

  private publish(): Promise<unknown> {
    this.chain = this.chain.then(async () => {
      const urls = this.urls();
      const sig = urls.join('\n');
      if (sig === this.last) return;
      this.last = sig;
      await this.o.onChange(urls);
    });
    this.chain = this.chain.catch((e: unknown) => this.o.log?.(`backend discovery: ${(e as Error)?.message ?? e}`));
    return this.chain;
  }
}
