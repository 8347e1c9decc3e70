import { keyWord } from './cache-key.js';

/** "No entry", for find() results and LRU / free-list links. */
export const NONE = -1;

/** Mixes the four key words into a slot hash; keys are already hashes, this only guards against structured ones. */
function slotHash(w0: number, w1: number, w2: number, w3: number): number {
  let h = w0 ^ w1 ^ w2 ^ w3;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), -0x7b935975);
  return h ^ (h >>> 16);
}

function tableSizeFor(capacity: number): number {
  // Load factor at most 1/2 keeps linear-probe chains short.
  let size = 16;
  while (size < capacity * 2) size *= 2;
  return size;
}

/**
 * The memory cache's index: 16-byte keys -> entry numbers, with an LRU order and an expiry per
 * entry, all in typed arrays so that lookups, hits, evictions and removals never allocate.
 *
 * - Entries are numbered 0..capacity-1; their columns are `keyWords` (4 int32 per key), `prev` /
 *   `next` (the intrusive LRU list; `next` also chains free entries), `expiresAt`, and where the
 *   value's bytes are: `values` (the arena buffer holding them), `valueOff`, `valueLen`,
 *   `valueSlab`. An entry is live exactly when values[e] !== null.
 * - `slots` is an open-addressing table (linear probing) holding entry + 1, 0 = empty. Removal
 *   uses backward-shift deletion, so there are no tombstones to clean up under churn.
 * - Capacity grows by doubling on insert (store path only), up to `maxCapacity`.
 */
export class EntryTable {
  capacity: number;
  keyWords: Int32Array;
  prev: Int32Array;
  next: Int32Array;
  expiresAt: Float64Array;
  /** Which ValueArena slab holds the value (for releasing its bytes); -1 when none. */
  valueSlab: Int32Array;
  /** The buffer holding the value (an arena slab, shared by many entries); null when the entry is free. */
  values: Array<Buffer | null>;
  valueOff: Int32Array;
  valueLen: Int32Array;
  /** Most recently used. */
  head = NONE;
  /** Least recently used: the next to evict. */
  tail = NONE;
  size = 0;
  private slots: Int32Array;
  private mask: number;
  private free = NONE;

  constructor(
    private readonly initialCapacity: number,
    readonly maxCapacity: number,
  ) {
    this.capacity = Math.max(1, Math.min(initialCapacity, maxCapacity));
    this.keyWords = new Int32Array(this.capacity * 4);
    this.prev = new Int32Array(this.capacity);
    this.next = new Int32Array(this.capacity);
    this.expiresAt = new Float64Array(this.capacity);
    this.valueSlab = new Int32Array(this.capacity);
    this.values = new Array<Buffer | null>(this.capacity).fill(null);
    this.valueOff = new Int32Array(this.capacity);
    this.valueLen = new Int32Array(this.capacity);
    this.slots = new Int32Array(tableSizeFor(this.capacity));
    this.mask = this.slots.length - 1;
    this.chainFree(0, this.capacity);
  }

  /** The live entry whose key is keys[off, off + 16), or NONE. */
  find(keys: Uint8Array, off: number): number {
    const w0 = keyWord(keys, off);
    const w1 = keyWord(keys, off + 4);
    const w2 = keyWord(keys, off + 8);
    const w3 = keyWord(keys, off + 12);
    const kw = this.keyWords;
    const slots = this.slots;
    const mask = this.mask;
    let i = slotHash(w0, w1, w2, w3) & mask;
    for (;;) {
      const s = slots[i] as number;
      if (s === 0) return NONE;
      const k = (s - 1) << 2;
      if (kw[k] === w0 && kw[k + 1] === w1 && kw[k + 2] === w2 && kw[k + 3] === w3) return s - 1;
      i = (i + 1) & mask;
    }
  }

  /** Whether insert() can take one more entry without an eviction first. */
  hasRoom(): boolean {
    return this.free !== NONE || this.capacity < this.maxCapacity;
  }

  /** Adds an absent key as the most recently used entry; the caller makes room first (hasRoom). */
  insert(keys: Uint8Array, off: number, expiresAt: number, value: Buffer, valueOff: number, valueLen: number, valueSlab: number): number {
    if (this.free === NONE) this.grow();
    const e = this.free;
    if (e === NONE) throw new Error('score cache: entry table full');
    this.free = this.next[e] as number;
    const k = e << 2;
    const kw = this.keyWords;
    kw[k] = keyWord(keys, off);
    kw[k + 1] = keyWord(keys, off + 4);
    kw[k + 2] = keyWord(keys, off + 8);
    kw[k + 3] = keyWord(keys, off + 12);
    this.expiresAt[e] = expiresAt;
    this.valueSlab[e] = valueSlab;
    this.values[e] = value;
    this.valueOff[e] = valueOff;
    this.valueLen[e] = valueLen;
    this.placeInSlots(e);
    this.linkHead(e);
    this.size++;
    return e;
  }

  /** Drops a live entry: out of the slots, out of the LRU list, onto the free list. */
  remove(e: number): void {
    this.unlink(e);
    this.deleteFromSlots(e);
    this.values[e] = null;
    this.valueSlab[e] = -1;
    this.next[e] = this.free;
    this.free = e;
    this.size--;
  }

  /** Marks a live entry most recently used. */
  touch(e: number): void {
    if (this.head === e) return;
    this.unlink(e);
    this.linkHead(e);
  }

  clear(): void {
    if (this.capacity !== Math.min(this.initialCapacity, this.maxCapacity)) {
      // Give back what a burst grew; a fresh table is as cheap as wiping the big one.
      const fresh = new EntryTable(this.initialCapacity, this.maxCapacity);
      this.capacity = fresh.capacity;
      this.keyWords = fresh.keyWords;
      this.prev = fresh.prev;
      this.next = fresh.next;
      this.expiresAt = fresh.expiresAt;
      this.valueSlab = fresh.valueSlab;
      this.values = fresh.values;
      this.valueOff = fresh.valueOff;
      this.valueLen = fresh.valueLen;
      this.slots = fresh.slots;
      this.mask = fresh.mask;
    } else {
      this.values.fill(null);
      this.slots.fill(0);
    }
    this.head = NONE;
    this.tail = NONE;
    this.size = 0;
    this.free = NONE;
    this.chainFree(0, this.capacity);
  }

  private slotOfWords(k: number): number {
    const kw = this.keyWords;
    return slotHash(kw[k] as number, kw[k + 1] as number, kw[k + 2] as number, kw[k + 3] as number) & this.mask;
  }

  private placeInSlots(e: number): void {
    const slots = this.slots;
    const mask = this.mask;
    let i = this.slotOfWords(e << 2);
    while (slots[i] !== 0) i = (i + 1) & mask;
    slots[i] = e + 1;
  }

  private deleteFromSlots(e: number): void {
    const slots = this.slots;
    const mask = this.mask;
    let i = this.slotOfWords(e << 2);
    while (slots[i] !== e + 1) i = (i + 1) & mask;
    // Backward shift: pull later members of the probe run into the hole when their home slot
    // does not lie cyclically in (hole, their position].
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      const s = slots[j] as number;
      if (s === 0) break;
      const home = this.slotOfWords((s - 1) << 2);
      const stays = i <= j ? i < home && home <= j : i < home || home <= j;
      if (!stays) {
        slots[i] = s;
        i = j;
      }
    }
    slots[i] = 0;
  }

  private linkHead(e: number): void {
    this.prev[e] = NONE;
    this.next[e] = this.head;
    if (this.head !== NONE) this.prev[this.head] = e;
    this.head = e;
    if (this.tail === NONE) this.tail = e;
  }

  private unlink(e: number): void {
    const p = this.prev[e] as number;
    const n = this.next[e] as number;
    if (p === NONE) this.head = n;
    else this.next[p] = n;
    if (n === NONE) this.tail = p;
    else this.prev[n] = p;
  }

  private chainFree(from: number, to: number): void {
    for (let e = to - 1; e >= from; e--) {
      this.next[e] = this.free;
      this.valueSlab[e] = -1;
      this.free = e;
    }
  }

  private grow(): void {
    const old = this.capacity;
    if (old >= this.maxCapacity) return;
    const cap = Math.min(old * 2, this.maxCapacity);
    const keyWords = new Int32Array(cap * 4);
    keyWords.set(this.keyWords);
    const prev = new Int32Array(cap);
    prev.set(this.prev);
    const next = new Int32Array(cap);
    next.set(this.next);
    const expiresAt = new Float64Array(cap);
    expiresAt.set(this.expiresAt);
    const valueSlab = new Int32Array(cap);
    valueSlab.set(this.valueSlab);
    const valueOff = new Int32Array(cap);
    valueOff.set(this.valueOff);
    const valueLen = new Int32Array(cap);
    valueLen.set(this.valueLen);
    this.valueOff = valueOff;
    this.valueLen = valueLen;
    this.keyWords = keyWords;
    this.prev = prev;
    this.next = next;
    this.expiresAt = expiresAt;
    this.valueSlab = valueSlab;
    for (let e = old; e < cap; e++) this.values.push(null);
    this.capacity = cap;
    this.chainFree(old, cap);
    const size = tableSizeFor(cap);
    if (size !== this.slots.length) {
      this.slots = new Int32Array(size);
      this.mask = size - 1;
      for (let e = 0; e < old; e++) if (this.values[e] !== null) this.placeInSlots(e);
    }
  }
}
