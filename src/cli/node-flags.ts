/**
 * The flags node runs scorecar with, on every launcher: the bin's shebang (src/cli/main.ts),
 * `npm start`, the image's ENTRYPOINT, and the harnesses of the tests and benches
 * (test/cli/node-flags.test.ts keeps them the same).
 *
 * --min-semi-space-size=16: V8 sizes the young generation by what survives its scavenges, and
 * shrinks it to 1 MiB per half whenever allocation slows (an idle sidecar, a quiet night). scorecar's
 * hot path keeps almost nothing alive past a request, so once shrunk it never grows back: under load
 * it then scavenges ~16 times as often, each scavenge costing about as much as a large one. Measured
 * (2 cores, Node 20.20.2, the emulator, memory cache full and evicting, new items in every request;
 * warm, 20 s idle, then 8 s of load): 2.83 and 2.89 ms of GC per 10k items without the flag, 0.73
 * with it. 16 MiB is where V8 grows it to under steady load anyway; it costs ~32 MiB of memory.
 * A runtime v8.setFlagsFromString() comes too late: the heap is configured before any code runs.
 *
 * --no-memory-reducer: when allocation slows (a sidecar idles), V8's memory reducer starts full
 * collections to shrink the heap, and their last steps land when traffic comes back. Measured
 * (the gc-free test's cached sidecar, idle ~15 s while the other ran, then loaded; --trace-gc):
 * two "Mark-Compact (reduce)" of 13.9 and 13.3 ms in its first second of load, 5.3 ms of GC per
 * 10k items over that run against 0.3 without them. A sidecar keeps the few tens of MB it idles
 * with instead; its start-up garbage is collected before it serves (src/mem/startup-gc.ts).
 */
export const NODE_FLAGS: readonly string[] = ['--min-semi-space-size=16', '--no-memory-reducer'];
