import type { AdmissionTicket } from '../../src/control/traffic-shaper.js';

/** Lets microtasks (promise reactions) run. */
export const flush = (): Promise<void> => new Promise<void>((resolve) => setImmediate(resolve));

/** An admit() promise whose outcome can be inspected synchronously after a flush. */
export interface Tracked {
  state: 'pending' | 'admitted' | 'refused';
  ticket: AdmissionTicket | null;
  error: unknown;
  settledAt: number;
  settlements: number;
}

export function track(p: Promise<AdmissionTicket>, now: () => number): Tracked {
  const t: Tracked = { state: 'pending', ticket: null, error: null, settledAt: NaN, settlements: 0 };
  p.then(
    (ticket) => {
      t.state = 'admitted';
      t.ticket = ticket;
      t.settledAt = now();
      t.settlements++;
    },
    (e: unknown) => {
      t.state = 'refused';
      t.error = e;
      t.settledAt = now();
      t.settlements++;
    },
  );
  return t;
}
