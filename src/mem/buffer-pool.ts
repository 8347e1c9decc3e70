/**
 * Size-classed pools of reusable Buffers and Int32Arrays. Request bodies, backend bodies and
 * token-id arenas come from here, so steady-state traffic allocates nothing large.
 * Classes are powers of two from MIN to MAX; larger requests get a one-off allocation.
 *
 * What a pool keeps is bounded in bytes: at most POOL_BYTES in all, nothing over KEEP_MAX
 * bytes (one huge request's buffers go back to the GC, not into the pool), and PER_CLASS
 * entries per class.
 */
const MIN_SHIFT = 12; // 4 KiB
const MAX_SHIFT = 26; // 64 MiB
const KEEP_MAX_SHIFT = 22; // 4 MiB: larger arrays are used once and released
const PER_CLASS = 64;
export const POOL_BYTES = 64 * 1024 * 1024;

function classOf(size: number): number {
  let shift = MIN_SHIFT;
  while (1 << shift < size) shift++;
  return shift;
}

export class BufferPool {
  private readonly free: Buffer[][] = [];
  allocated = 0;
  /** Bytes held in the free lists. */
  pooledBytes = 0;

  acquire(minSize: number): Buffer {
    const shift = classOf(Math.max(1, minSize));
    if (shift > MAX_SHIFT) {
      this.allocated++;
      return Buffer.allocUnsafeSlow(minSize);
    }
    const list = (this.free[shift] ??= []);
    const b = list.pop();
    if (b) {
      this.pooledBytes -= b.length;
      return b;
    }
    this.allocated++;
    return Buffer.allocUnsafeSlow(1 << shift);
  }

  release(buf: Buffer): void {
    const size = buf.length;
    if ((size & (size - 1)) !== 0 || size < 1 << MIN_SHIFT || size > 1 << KEEP_MAX_SHIFT) return;
    if (this.pooledBytes + size > POOL_BYTES) return;
    const list = (this.free[Math.log2(size)] ??= []);
    if (list.length < PER_CLASS) {
      list.push(buf);
      this.pooledBytes += size;
    }
  }
}

export class Int32Pool {
  private readonly free: Int32Array[][] = [];
  allocated = 0;
  /** Bytes held in the free lists. */
  pooledBytes = 0;

  acquire(minLength: number): Int32Array {
    const shift = classOf(Math.max(1, minLength) * 4) - 2;
    if (shift + 2 > MAX_SHIFT) {
      this.allocated++;
      return new Int32Array(minLength);
    }
    const list = (this.free[shift] ??= []);
    const a = list.pop();
    if (a) {
      this.pooledBytes -= a.byteLength;
      return a;
    }
    this.allocated++;
    return new Int32Array(1 << shift);
  }

  /** Returns a larger array holding the first `used` elements of `a`; `a` goes back to the pool. */
  grow(a: Int32Array, used: number, minLength: number): Int32Array {
    const b = this.acquire(Math.max(minLength, a.length * 2));
    b.set(a.subarray(0, used));
    this.release(a);
    return b;
  }

  release(a: Int32Array): void {
    const n = a.length;
    if ((n & (n - 1)) !== 0 || n * 4 < 1 << MIN_SHIFT || n * 4 > 1 << KEEP_MAX_SHIFT) return;
    if (this.pooledBytes + a.byteLength > POOL_BYTES) return;
    const list = (this.free[Math.log2(n)] ??= []);
    if (list.length < PER_CLASS) {
      list.push(a);
      this.pooledBytes += a.byteLength;
    }
  }
}

export const bufferPool = new BufferPool();
export const int32Pool = new Int32Pool();
