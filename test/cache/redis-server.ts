import { type ChildProcess, spawn } from 'node:child_process';
import net from 'node:net';

export const REDIS_SERVER = '/usr/bin/redis-server';

/** A port the kernel just handed out, so it is free for the server we are about to start. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Sends one inline command on a fresh connection and returns the first reply line, or null on failure. */
export function rawCommand(port: number, command: string, timeoutMs = 500): Promise<string | null> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let reply = '';
    const done = (value: string | null): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(value);
    };
    const timer = setTimeout(() => done(null), timeoutMs);
    socket.on('connect', () => socket.write(`${command}\r\n`));
    socket.on('data', (chunk) => {
      reply += chunk.toString('latin1');
      const eol = reply.indexOf('\r\n');
      if (eol >= 0) done(reply.slice(0, eol));
    });
    socket.on('error', () => done(null));
  });
}

/** A redis-server of this test file's own, on loopback, with persistence off. */
export class RedisServer {
  private proc: ChildProcess | null = null;

  private constructor(readonly port: number) {}

  static async start(port?: number): Promise<RedisServer> {
    const server = new RedisServer(port ?? (await freePort()));
    await server.restart();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts the process (again, on the same port) and waits until it answers PING. */
  async restart(): Promise<void> {
    if (this.proc) throw new Error('redis-server already running');
    const proc = spawn(REDIS_SERVER, ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    this.proc = proc;
    let stderr = '';
    proc.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
    const deadline = Date.now() + 10_000;
    while ((await rawCommand(this.port, 'PING')) !== '+PONG') {
      if (proc.exitCode !== null || Date.now() > deadline) {
        this.kill();
        throw new Error(`redis-server on ${this.port} did not come up: ${stderr}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** SIGKILL: the server vanishes without closing anything gracefully. Resolves once it has exited. */
  async crash(): Promise<void> {
    const proc = this.proc;
    if (!proc) return;
    this.proc = null;
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill('SIGKILL');
    await exited;
  }

  /** SIGSTOP / SIGCONT: a server that is alive but answers nothing, like one stuck or overloaded. */
  freeze(): void {
    this.proc?.kill('SIGSTOP');
  }

  thaw(): void {
    this.proc?.kill('SIGCONT');
  }

  kill(): void {
    this.proc?.kill('SIGKILL');
    this.proc = null;
  }

  stop(): Promise<void> {
    this.thaw();
    return this.crash();
  }
}
