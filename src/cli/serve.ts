import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { usage } from '../config/options.js';
import { SERVE_OPTIONS, parseServeConfig } from '../config/serve-config.js';
import { type Logger, createLogger } from '../observe/logger.js';
import { StartupError, startSidecar } from '../sidecar.js';
import { onContinuationFault } from '../mem/continuation.js';

/** The emulator's start line: plain text or, today, a JSON log line whose msg holds the URL. */
const EMULATOR_LISTENING = /listening on (http:\/\/[^\s"]+)/;

/** Starts `scorecar emulate` as a child process, so its CPU never competes with the sidecar's loop. */
async function startEmulatorProcess(port: number, profile: string, mis: boolean, logLevel: string): Promise<{ child: ChildProcess; url: string }> {
  const main = fileURLToPath(new URL('./main.js', import.meta.url));
  const args = [main, 'emulate', '--port', String(port), '--profile', profile, '--log-level', logLevel, ...(mis ? ['--mis'] : [])];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const onData = (chunk: Buffer): void => {
      out += chunk.toString();
      const m = EMULATOR_LISTENING.exec(out);
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

/** Stops the embedded emulator and waits (briefly) for it to go. */
function stopEmulator(emulator: { child: ChildProcess } | null): Promise<void> {
  const child = emulator?.child;
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/**
 * `scorecar serve`: the sidecar, optionally with an embedded emulator as its backend.
 *
 * Lifecycle: a start that fails (a port in use, say) prints one line, closes everything it had
 * started and returns 1. The first SIGTERM or SIGINT drains: /health answers 503, new requests
 * are refused, those in flight finish (for at most --drain-timeout-ms), then everything closes
 * and it returns 0. A second signal exits at once (status 1). A promise rejection nobody handled
 * is logged and counted, never the end of the process.
 */
export async function runServe(argv: string[]): Promise<number> {
  const cfg = parseServeConfig(argv);
  if (cfg.help) {
    console.log(usage('serve', SERVE_OPTIONS));
    return 0;
  }
  const log: Logger = createLogger(cfg.logLevel);
  process.on('unhandledRejection', (e: unknown) => {
    log.error({ err: e }, 'unhandled promise rejection (kept running)');
  });
  // The pipeline's continuations run outside promises: a throw in one is a bug, logged the same way.
  onContinuationFault((e: unknown) => log.error({ err: e }, 'a pipeline continuation threw (kept running)'));
  let emulator: { child: ChildProcess; url: string } | null = null;
  let sidecar;
  try {
    if (cfg.emulate) {
      emulator = await startEmulatorProcess(cfg.emulatorPort, cfg.emulatorProfile, cfg.emulatorMis, cfg.logLevel);
      cfg.backend = [...cfg.backend, emulator.url];
    }
    sidecar = await startSidecar(cfg, { log, collectStartupGarbage: true });
  } catch (e) {
    await stopEmulator(emulator);
    const why = e instanceof StartupError ? e.message : e instanceof Error ? e.message : String(e);
    log.fatal({ err: why }, `cannot start: ${why}`);
    // Also one plain line on stderr: the command's own answer, for whoever ran it by hand.
    console.error(`scorecar: cannot start: ${why}`);
    return 1;
  }
  log.info({ url: sidecar.url }, `SGLang-compatible HTTP API on ${sidecar.url} (POST /v1/score accelerated; other routes pass through)`);
  log.info({ backends: cfg.backend }, `backends: ${cfg.backend.join(', ')}${emulator ? ' (emulator: simulated SGLang)' : ''}`);
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  const again = (s: NodeJS.Signals): void => {
    log.warn({ signal: s }, `${s} again: exiting now`);
    emulator?.child.kill('SIGKILL');
    process.exit(1);
  };
  process.once('SIGINT', again);
  process.once('SIGTERM', again);
  log.info({ signal }, `${signal}: draining (new requests refused; up to ${cfg.drainTimeoutMs} ms for those in flight)`);
  const drained = await sidecar.drain(cfg.drainTimeoutMs);
  if (drained) log.info('drained; shutting down');
  else log.warn(`drain timeout (${cfg.drainTimeoutMs} ms) passed with requests in flight; shutting down`);
  await sidecar.close();
  await stopEmulator(emulator);
  process.off('SIGINT', again);
  process.off('SIGTERM', again);
  return 0;
}
