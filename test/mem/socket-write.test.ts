import { type AddressInfo, type Server, type Socket, connect, createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { handleWrites, writeTo } from '../../src/mem/socket-write.js';
import { collectStartupGarbage } from '../../src/mem/startup-gc.js';
import { until } from '../support/until.js';

/** A TCP pair on loopback: the client end and the server's end, and what the server end read. */
interface Pair {
  client: Socket;
  peer: Socket;
  received: () => Buffer;
  server: Server;
}

const open: Pair[] = [];

async function pair(paused = false): Promise<Pair> {
  const chunks: Buffer[] = [];
  let peer: Socket | null = null;
  const server = createServer((s) => {
    peer = s;
    s.on('data', (d: Buffer) => chunks.push(d));
    if (paused) s.pause();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const client = connect((server.address() as AddressInfo).port, '127.0.0.1');
  await new Promise<void>((r) => client.once('connect', r));
  await until(() => peer !== null);
  const p = { client, peer: peer as unknown as Socket, received: () => Buffer.concat(chunks), server };
  open.push(p);
  return p;
}

afterEach(async () => {
  for (const p of open.splice(0)) {
    p.client.destroy();
    p.peer.destroy();
    await new Promise((r) => p.server.close(r));
  }
});

/** Calls of a `written` callback: the error (or null) of each. */
function recorder(): { calls: Array<Error | null>; cb: (err?: Error | null) => void } {
  const calls: Array<Error | null> = [];
  return { calls, cb: (err) => void calls.push(err ?? null) };
}

describe('writeTo', () => {
  it('writes a small buffer at once on a connected socket: true, called back once with null, the bytes arrive', async () => {
    const p = await pair();
    const w = recorder();
    expect(writeTo(p.client, Buffer.from('hello'), w.cb)).toBe(true);
    await until(() => p.received().toString() === 'hello');
    expect(w.calls).toEqual([null]);
    expect(p.client.bytesWritten).toBe(5);
  });

  it('writes to the handle with one reused request object on this node, each write called back once, in order', async () => {
    // Node 20 and 24 keep the stream binding on process.binding's allow list: the path the hot path takes.
    expect(handleWrites).toBe(true);
    const p = await pair();
    const calls: number[] = [];
    let expected = '';
    for (let i = 0; i < 2000; i++) {
      const text = `${i},`;
      expected += text;
      writeTo(p.client, Buffer.from(text), (err) => {
        expect(err ?? null).toBeNull();
        calls.push(i);
      });
    }
    await until(() => p.received().length === expected.length);
    expect(p.received().toString()).toBe(expected);
    expect(calls).toEqual(Array.from({ length: 2000 }, (_, i) => i));
  });

  it('reports bytes the kernel did not take (false) and calls back when they are written, in order with later writes', async () => {
    const p = await pair(true);
    const big = Buffer.alloc(32 * 1024 * 1024, 0x61);
    const first = recorder();
    const order: string[] = [];
    // The peer reads nothing: the kernel's buffers fill and libuv keeps the rest.
    expect(
      writeTo(p.client, big, (e) => {
        order.push('first');
        first.cb(e);
      }),
    ).toBe(false);
    expect(first.calls).toEqual([]);
    // While libuv holds bytes, a second write still goes after them (its callback after the first's).
    const second = recorder();
    writeTo(p.client, Buffer.from('tail'), (e) => {
      order.push('second');
      second.cb(e);
    });
    await new Promise((r) => setTimeout(r, 50));
    expect([first.calls, second.calls]).toEqual([[], []]);
    p.peer.resume();
    await until(() => second.calls.length === 1, 10_000);
    expect([first.calls, second.calls]).toEqual([[null], [null]]);
    await until(() => p.received().length === big.length + 4, 10_000);
    const got = p.received();
    expect(got.subarray(big.length).toString()).toBe('tail');
    expect(got.subarray(0, big.length).every((b) => b === 0x61)).toBe(true);
    expect(order).toEqual(['first', 'second']);
  });

  it("keeps an async write's bytes alive until it completes, with no reference left to them anywhere else", async () => {
    const p = await pair(true);
    const calls: Array<Error | null> = [];
    // Buffers made and dropped here: only the write holds them once this returns.
    const send = (): void => {
      for (let i = 0; i < 40; i++) writeTo(p.client, Buffer.alloc(1024 * 1024, 0x62), (err) => void calls.push(err ?? null));
    };
    send();
    expect(calls.length).toBeLessThan(40);
    // A full collection, and new buffers that would reuse freed memory.
    expect(collectStartupGarbage()).toBe(true);
    const noise = Array.from({ length: 40 }, () => Buffer.alloc(1024 * 1024, 0x7a));
    p.peer.resume();
    await until(() => calls.length === 40, 20_000);
    expect(calls.every((c) => c === null)).toBe(true);
    await until(() => p.received().length === 40 * 1024 * 1024, 20_000);
    expect(p.received().every((b) => b === 0x62)).toBe(true);
    expect(noise).toHaveLength(40);
  });

  it('goes through socket.write while the Writable holds bytes (corked) or the socket is connecting, keeping the order', async () => {
    const p = await pair();
    p.client.cork();
    p.client.write('a');
    const w = recorder();
    // writableLength is 1: the direct write would overtake the corked 'a'.
    expect(p.client.writableLength).toBe(1);
    writeTo(p.client, Buffer.from('b'), w.cb);
    process.nextTick(() => p.client.uncork());
    await until(() => p.received().toString() === 'ab');
    await until(() => w.calls.length === 1);
    expect(w.calls).toEqual([null]);

    const chunks: Buffer[] = [];
    const server = createServer((s) => s.on('data', (d: Buffer) => chunks.push(d)));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const early = connect((server.address() as AddressInfo).port, '127.0.0.1');
    expect(early.connecting).toBe(true);
    const e = recorder();
    writeTo(early, Buffer.from('before connect'), e.cb);
    await until(() => Buffer.concat(chunks).toString() === 'before connect');
    await until(() => e.calls.length === 1);
    expect(e.calls).toEqual([null]);
    early.destroy();
    await new Promise((r) => server.close(r));
  });

  it('calls back once when the peer goes away under a pending write', async () => {
    const p = await pair(true);
    p.client.on('error', () => {});
    const pending = recorder();
    expect(writeTo(p.client, Buffer.alloc(32 * 1024 * 1024), pending.cb)).toBe(false);
    // The peer closes with unread bytes: the kernel resets the connection under libuv's write.
    p.peer.destroy();
    await until(() => pending.calls.length === 1, 10_000);
    // The read side usually sees the reset first and destroys the socket, which cancels the
    // write (reported as done, as node's own write reports it); else the write fails itself.
    const err = pending.calls[0] as NodeJS.ErrnoException | null;
    if (err !== null) {
      expect(['EPIPE', 'ECONNRESET']).toContain(err.code);
      expect(err.syscall).toBe('write');
    } else expect(p.client.destroyed).toBe(true);
    await new Promise((r) => setTimeout(r, 20));
    expect(pending.calls).toHaveLength(1);
  });

  it('calls back once with an error on a destroyed socket, and once when a destroy cancels a pending write', async () => {
    const p = await pair(true);
    const pending = recorder();
    expect(writeTo(p.client, Buffer.alloc(32 * 1024 * 1024), pending.cb)).toBe(false);
    p.client.destroy();
    await until(() => pending.calls.length === 1);
    await new Promise((r) => setTimeout(r, 20));
    expect(pending.calls).toHaveLength(1);

    const late = recorder();
    writeTo(p.client, Buffer.from('x'), late.cb);
    await until(() => late.calls.length === 1);
    expect(late.calls[0]).toBeInstanceOf(Error);
    await new Promise((r) => setTimeout(r, 20));
    expect(late.calls).toHaveLength(1);
  });
});
