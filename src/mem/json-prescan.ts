/**
 * A bounded look at a JSON body before JSON.parse builds it: one pass over the bytes, no
 * recursion and no allocation, that counts what parsing would cost. JSON.parse of a 60 MB body
 * of 20M empty lists builds 20M arrays (over a gigabyte of heap) before anything could count
 * them; this refuses such a body having read only as far as the limit it breaks.
 *
 * It does not validate: bytes that are not JSON pass through, and JSON.parse then reports them.
 * Strings are skipped by their quotes and backslashes only.
 */

export interface PrescanLimits {
  /** Elements of the top-level object's "items" list (any duplicate key counts on its own). */
  maxItems: number;
  /** Nesting of objects and lists. */
  maxDepth: number;
  /** Objects, lists and strings (keys included): what costs JS heap beyond a number's slot. */
  maxContainers: number;
  /** Every value: containers, strings, numbers, true/false/null. */
  maxValues: number;
}

export const PRESCAN_OK = 0;
export const PRESCAN_TOO_MANY_ITEMS = 1;
export const PRESCAN_TOO_DEEP = 2;
export const PRESCAN_TOO_LARGE = 3;
export type PrescanResult = typeof PRESCAN_OK | typeof PRESCAN_TOO_MANY_ITEMS | typeof PRESCAN_TOO_DEEP | typeof PRESCAN_TOO_LARGE;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const ITEMS = [0x69, 0x74, 0x65, 0x6d, 0x73]; // "items"

function isWs(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/** Index past the string opening at p (its closing quote + 1), or end when it never closes. */
function skipString(b: Uint8Array, p: number, end: number): number {
  p++;
  while (p < end) {
    const c = b[p] as number;
    if (c === QUOTE) return p + 1;
    p += c === BACKSLASH ? 2 : 1;
  }
  return end;
}

function isItemsKey(b: Uint8Array, s: number, e: number): boolean {
  if (e - s !== ITEMS.length) return false;
  for (let i = 0; i < ITEMS.length; i++) if (b[s + i] !== ITEMS[i]) return false;
  return true;
}

/** Scans body[0, end) against the limits; returns PRESCAN_OK or the first limit broken. */
export function prescanJson(b: Uint8Array, end: number, limits: PrescanLimits): PrescanResult {
  let depth = 0;
  let containers = 0;
  let values = 0;
  // Depth-1 object state: the next string there is a key (after '{' or ',').
  let topIsObject = false;
  let expectKey = false;
  let lastKeyIsItems = false;
  // The "items" list being counted (depth 2 inside it), its commas and whether it holds anything.
  let inItems = false;
  let itemCommas = 0;
  let itemsNonEmpty = false;
  let p = 0;
  while (p < end) {
    const c = b[p] as number;
    if (isWs(c)) {
      p++;
      continue;
    }
    if (inItems && depth === 2 && c !== RBRACKET && c !== COMMA) itemsNonEmpty = true;
    if (c === QUOTE) {
      const s = p + 1;
      p = skipString(b, p, end);
      if (++containers > limits.maxContainers || ++values > limits.maxValues) return PRESCAN_TOO_LARGE;
      if (depth === 1 && topIsObject && expectKey) {
        lastKeyIsItems = isItemsKey(b, s, p - 1);
        expectKey = false;
      }
      continue;
    }
    if (c === LBRACE || c === LBRACKET) {
      if (++depth > limits.maxDepth) return PRESCAN_TOO_DEEP;
      if (++containers > limits.maxContainers || ++values > limits.maxValues) return PRESCAN_TOO_LARGE;
      if (depth === 1) {
        topIsObject = c === LBRACE;
        expectKey = topIsObject;
      } else if (depth === 2 && c === LBRACKET && topIsObject && lastKeyIsItems) {
        inItems = true;
        itemCommas = 0;
        itemsNonEmpty = false;
      }
      p++;
      continue;
    }
    if (c === RBRACE || c === RBRACKET) {
      if (depth === 2 && inItems) inItems = false;
      if (depth > 0) depth--;
      p++;
      continue;
    }
    if (c === COMMA) {
      if (depth === 1 && topIsObject) {
        expectKey = true;
        lastKeyIsItems = false;
      } else if (depth === 2 && inItems && ++itemCommas + 1 > limits.maxItems) return PRESCAN_TOO_MANY_ITEMS;
      p++;
      continue;
    }
    if (c === COLON) {
      p++;
      continue;
    }
    // A number or a literal: one value, up to the next delimiter.
    if (++values > limits.maxValues) return PRESCAN_TOO_LARGE;
    p++;
    while (p < end) {
      const d = b[p] as number;
      if (d === COMMA || d === RBRACKET || d === RBRACE || d === COLON || d === QUOTE || d === LBRACE || d === LBRACKET || isWs(d)) break;
      p++;
    }
  }
  // A lone item: "items": [x] with maxItems 0 (never in practice: maxItems >= 1).
  if (itemsNonEmpty && itemCommas + 1 > limits.maxItems) return PRESCAN_TOO_MANY_ITEMS;
  return PRESCAN_OK;
}

/** The limits for a body of a route whose requests carry at most maxItems items. */
export function prescanLimitsFor(maxItems: number): PrescanLimits {
  return { maxItems, maxDepth: 256, maxContainers: 32 * maxItems + 1024, maxValues: 1024 * maxItems + 65536 };
}
