import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { NODE_FLAGS } from '../../src/cli/node-flags.js';

/** Starts the built CLI (`scorecar emulate` / `serve`) as a child process and waits for its URL. */
const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

export interface Child {
  url: string;
  child: ChildProcess;
  /** Everything the process printed so far. */
  output(): string;
  stop(): Promise<void>;
}

export function startCli(args: string[], ready: RegExp, timeoutMs = 60_000): Promise<Child> {
  const child = spawn(process.execPath, [...NODE_FLAGS, MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  return new Promise<Child>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timeout waiting for ${args.join(' ')}: ${out}`)), timeoutMs);
    let isReady = false;
    const onData = (c: Buffer): void => {
      // Keep what the process prints (bounded), for callers that read more than the ready line.
      if (out.length < 1 << 20) out += c.toString();
      if (isReady) return;
      const m = ready.exec(out);
      if (m) {
        isReady = true;
        clearTimeout(timer);
        resolve({
          url: m[m.length - 1] as string,
          child,
          output: () => out,
          stop: () =>
            new Promise<void>((r) => {
              if (child.exitCode !== null) return r();
              child.once('exit', () => r());
              child.kill('SIGTERM');
            }),
        });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (!isReady) reject(new Error(`${args[0]} exited ${code}: ${out}`));
    });
  });
}

export function startEmulator(args: string[]): Promise<Child> {
  return startCli(['emulate', '--port', '0', '--tokenizer-threads', '2', ...args], /listening on (http:\/\/\S+)/);
}

export function startScorecar(backend: string, args: string[] = []): Promise<Child> {
  return startCli(['serve', '--host', '127.0.0.1', '--port', '0', '--grpc-port', '0', '--backend', backend, ...args], /HTTP API on (http:\/\/\S+)/);
}
