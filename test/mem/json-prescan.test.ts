import { describe, expect, it } from 'vitest';
import { PRESCAN_OK, PRESCAN_TOO_DEEP, PRESCAN_TOO_LARGE, PRESCAN_TOO_MANY_ITEMS, prescanJson, prescanLimitsFor } from '../../src/mem/json-prescan.js';

const scan = (text: string, maxItems = 3): number => {
  const b = Buffer.from(text);
  return prescanJson(b, b.length, prescanLimitsFor(maxItems));
};

describe('prescanJson', () => {
  it('counts the top-level items list, whatever its elements are', () => {
    expect(scan('{"items":[[],[],[]]}')).toBe(PRESCAN_OK);
    expect(scan('{"items":[[],[],[],[]]}')).toBe(PRESCAN_TOO_MANY_ITEMS);
    expect(scan('{"query":"a,b,c,d,e","items":["x,y,z,w","b"]}')).toBe(PRESCAN_OK); // commas in strings do not count
    expect(scan('{"items":[{"id":"a","ids":[1,2,3,4,5,6]},{"id":"b"}]}')).toBe(PRESCAN_OK); // nested commas do not count
    expect(scan('{"other":[1,2,3,4,5],"items":[1]}')).toBe(PRESCAN_OK); // only the "items" key
    expect(scan('{"x":{"items":[1,2,3,4,5]}}')).toBe(PRESCAN_OK); // only at the top level
    expect(scan('{"items":[1],"items":[1,2,3,4]}')).toBe(PRESCAN_TOO_MANY_ITEMS); // each duplicate on its own
    expect(scan('{"it\\"ems":[1,2,3,4]}')).toBe(PRESCAN_OK);
  });

  it('stops at the first broken limit: 20M empty items are refused having read only the first few', () => {
    const head = '{"query":[1,2,3],"items":[' + '[],'.repeat(5);
    const b = Buffer.alloc(60 * 1024 * 1024, 0x20);
    b.write(head);
    // Only the first bytes hold items; the scan must refuse there, before the (blank) rest matters.
    expect(prescanJson(b, b.length, prescanLimitsFor(3))).toBe(PRESCAN_TOO_MANY_ITEMS);
  });

  it('bounds nesting without recursion, and the values JSON.parse would build', () => {
    expect(scan('['.repeat(200_000) + ']'.repeat(200_000))).toBe(PRESCAN_TOO_DEEP);
    expect(scan('{"a":' + '['.repeat(256) + ']'.repeat(256) + '}')).toBe(PRESCAN_TOO_DEEP);
    expect(scan('{"a":' + '['.repeat(200) + ']'.repeat(200) + '}')).toBe(PRESCAN_OK);
    const limits = prescanLimitsFor(3);
    expect(scan(`{"x":[${'[],'.repeat(limits.maxContainers)}[]]}`)).toBe(PRESCAN_TOO_LARGE);
    expect(scan(`{"x":[${'1,'.repeat(limits.maxValues)}1]}`)).toBe(PRESCAN_TOO_LARGE);
    expect(scan(`{"x":[${'1,'.repeat(1000)}1]}`)).toBe(PRESCAN_OK);
  });

  it('lets bytes that are not JSON through (JSON.parse reports them)', () => {
    expect(scan('not json')).toBe(PRESCAN_OK);
    expect(scan('{"items":["unterminated')).toBe(PRESCAN_OK);
    expect(scan('')).toBe(PRESCAN_OK);
  });
});
