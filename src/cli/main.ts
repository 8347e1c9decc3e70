#!/usr/bin/env -S node --min-semi-space-size=16 --no-memory-reducer
import { ConfigError } from '../config/options.js';
import { createLogger } from '../observe/logger.js';
import { runEmulate } from './emulate.js';
import { runServe } from './serve.js';

const USAGE = `scorecar: a scoring sidecar for SGLang

  scorecar serve   [--backend URL ... | --emulate] [--port 30001] ...   the sidecar
  scorecar emulate [--port 30000] [--mis | --mis-delimiter ID] [--profile NAME]   the SGLang emulator (simulated GPU)
  scorecar bench   --target [label:]kind=URL ... [--quick] [--json FILE]   latency benchmark (Poisson arrivals, max RPS at a p95 SLO)

Run a command with --help for its options.`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve':
      return runServe(rest);
    case 'emulate':
      return runEmulate(rest);
    case 'bench': {
      const { runBenchCli } = await import('../../bench/cli.js');
      return runBenchCli(rest);
    }
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      console.log(USAGE);
      return command === undefined ? 2 : 0;
    default:
      console.error(`scorecar: unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== 0) process.exitCode = code;
  },
  (e: unknown) => {
    if (e instanceof ConfigError) {
      console.error(`scorecar: ${e.message}`);
      process.exitCode = 2;
    } else {
      // Not a usage error: a failure, logged like everything else the process reports.
      createLogger('info').fatal({ err: e }, 'scorecar failed');
      process.exitCode = 1;
    }
  },
);
