import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { usage } from '../config/options.js';
import { SERVE_OPTIONS, parseServeConfig } from '../config/serve-config.js';
import { startSidecar } from '../sidecar.js';

function log(msg: string): void {
  console.log(`scorecar: ${msg}`);
}

/** Starts `scorecar emulate` as a child process, so its CPU never competes with the sidecar's loop. */
async function startEmulatorProcess(port: number, profile: string, mis: boolean): Promise<{ child: ChildProcess; url: string }> {
  const main = fileURLToPath(new URL('./main.js', import.meta.url));
  const args = [main, 'emulate', '--port', String(port), '--profile', profile, ...(mis ? ['--mis'] : [])];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const onData = (chunk: Buffer): void => {
      out += chunk.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        child.stdout?.off('data', onData);
        child.stdout?.on('data', (c: Buffer) => process.stdout.write(c));
        process.stdout.write(out);
        resolve(m[1] as string);
      }
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`emulator exited with code ${code} before listening`)));
  });
  return { child, url };
}

/** `scorecar serve`: the sidecar, optionally with an embedded emulator as its backend. */
export async function runServe(argv: string[]): Promise<number> {
  const cfg = parseServeConfig(argv);
  if (cfg.help) {
    console.log(usage('serve', SERVE_OPTIONS));
    return 0;
  }
  let emulator: { child: ChildProcess; url: string } | null = null;
  if (cfg.emulate) {
    emulator = await startEmulatorProcess(cfg.emulatorPort, cfg.emulatorProfile, cfg.emulatorMis);
    cfg.backend = [...cfg.backend, emulator.url];
  }
  let sidecar;
  try {
    sidecar = await startSidecar(cfg, log);
  } catch (e) {
    emulator?.child.kill('SIGTERM');
    throw e;
  }
  log(`SGLang-compatible HTTP API on ${sidecar.url} (POST /v1/score accelerated; other routes pass through)`);
  log(`backends: ${cfg.backend.join(', ')}${emulator ? ' (emulator: simulated SGLang)' : ''}`);
  await new Promise<void>((resolve) => {
    const stop = (): void => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  log('shutting down');
  await sidecar.close();
  emulator?.child.kill('SIGTERM');
  return 0;
}
