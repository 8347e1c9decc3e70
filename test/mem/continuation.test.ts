import { afterEach, describe, expect, it } from 'vitest';
import { continuationFault, onContinuationFault, resume, resumeWith } from '../../src/mem/continuation.js';

let restore: ((e: unknown) => void) | null = null;
afterEach(() => {
  if (restore !== null) onContinuationFault(restore);
  restore = null;
});

describe('continuations', () => {
  it('runs the continuation with its value', () => {
    const got: number[] = [];
    resume(() => got.push(1));
    resumeWith((v: number) => got.push(v), 2);
    expect(got).toEqual([1, 2]);
  });

  it('hands a throw to the fault handler instead of the caller', () => {
    const faults: unknown[] = [];
    restore = onContinuationFault((e) => faults.push(e));
    const boom = new Error('boom');
    expect(() =>
      resume(() => {
        throw boom;
      }),
    ).not.toThrow();
    resumeWith((v: string) => {
      throw new Error(v);
    }, 'again');
    continuationFault('third');
    expect(faults).toHaveLength(3);
    expect(faults[0]).toBe(boom);
    expect((faults[1] as Error).message).toBe('again');
    expect(faults[2]).toBe('third');
  });
});
