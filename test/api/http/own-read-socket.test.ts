import { type AddressInfo, type Server, Socket, connect, createServer } from 'node:net';
import { Duplex } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { adopt } from '../../../src/api/http/own-read-socket.js';
import { until } from '../../support/until.js';

/**
 * adopt() against real TCP: an accepted socket remade to read into one buffer keeps every other
 * behaviour of a net.Socket, and the server's connection count moves with it.
 */
const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise<void>((resolve) => s.close(() => resolve()));
});

interface Adopted {
  server: Server;
  port: number;
  /** Each adopted socket, with the text its reads carried and the buffers they came in. */
  next(): Promise<{ socket: Socket; text: () => string; buffers: Set<Buffer> }>;
}

async function listen(buffer: Buffer): Promise<Adopted> {
  const waiting: ((a: { socket: Socket; text: () => string; buffers: Set<Buffer> }) => void)[] = [];
  const server = createServer((accepted) => {
    let text = '';
    const buffers = new Set<Buffer>();
    const socket = adopt(accepted, buffer, (n, buf) => {
      buffers.add(buf);
      text += buf.toString('latin1', 0, n);
      return true;
    });
    if (socket === null) throw new Error('not adopted');
    socket.on('error', () => {});
    waiting.shift()?.({ socket, text: () => text, buffers });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    server,
    port: (server.address() as AddressInfo).port,
    next: () => new Promise((resolve) => waiting.push(resolve)),
  };
}

function connections(server: Server): Promise<number> {
  return new Promise((resolve, reject) => server.getConnections((e, n) => (e ? reject(e) : resolve(n))));
}

describe('adopt', () => {
  it('reads into the one buffer it is given, writes, ends and closes as a net.Socket', async () => {
    const buffer = Buffer.alloc(1024);
    const a = await listen(buffer);
    const accepted = a.next();
    const c = connect(a.port, '127.0.0.1');
    let back = '';
    c.on('data', (d: Buffer) => (back += d.toString('latin1')));
    const s = await accepted;
    const ended = new Promise<void>((resolve) => s.socket.on('end', () => resolve()));
    const closed = new Promise<void>((resolve) => s.socket.on('close', () => resolve()));
    // More than the buffer holds: several reads, each into the same buffer.
    const sent = 'abcdefghij'.repeat(500);
    c.write(sent);
    await until(() => s.text().length === sent.length);
    expect(s.text()).toBe(sent);
    expect([...s.buffers]).toEqual([buffer]);
    s.socket.write('answer');
    await until(() => back === 'answer');
    c.end();
    await ended;
    s.socket.end();
    await closed;
  });

  it('stops reading on pause() and reads on from resume()', async () => {
    const a = await listen(Buffer.alloc(4096));
    const accepted = a.next();
    const c = connect(a.port, '127.0.0.1');
    const s = await accepted;
    c.write('one');
    await until(() => s.text() === 'one');
    s.socket.pause();
    c.write('two');
    await new Promise((r) => setTimeout(r, 100));
    expect(s.text()).toBe('one');
    s.socket.resume();
    await until(() => s.text() === 'onetwo');
    c.destroy();
  });

  it('carries the server connection count: server.close() completes once the adopted socket closes', async () => {
    const a = await listen(Buffer.alloc(4096));
    const accepted = a.next();
    const c = connect(a.port, '127.0.0.1');
    const s = await accepted;
    expect(await connections(a.server)).toBe(1);
    let serverClosed = false;
    servers.splice(servers.indexOf(a.server), 1);
    a.server.close(() => (serverClosed = true));
    await new Promise((r) => setTimeout(r, 100));
    expect(serverClosed).toBe(false);
    c.destroy();
    s.socket.destroy();
    await until(() => serverClosed);
    expect(await connections(a.server)).toBe(0);
  });

  it('leaves a stream without a handle as it is', () => {
    const d = new Duplex({ read() {}, write(_c, _e, cb) { cb(); } });
    expect(adopt(d as unknown as Socket, Buffer.alloc(16), () => true)).toBeNull();
    const unconnected = new Socket();
    expect(adopt(unconnected, Buffer.alloc(16), () => true)).toBeNull();
  });
});
