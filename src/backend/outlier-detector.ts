/**
 * Passive outlier ejection for one backend, as Envoy's outlier detection and Linkerd's failure
 * accrual do it: consecutive failed scoring calls (5xx, timeouts, resets, refused connections)
 * eject the backend; after the ejection time one trial call is let through (half-open); its
 * success re-admits the backend, its failure ejects it again for twice as long. Active /health
 * polling runs beside this and cannot re-admit a backend that answers /health but fails calls.
 */
export interface OutlierOptions {
  /** Consecutive failures that eject a backend (default 5). */
  consecutiveFailures?: number;
  /** First ejection's length, ms (default 2000); each further one doubles it. */
  baseEjectionMs?: number;
  /** Longest ejection, ms (default 30000). */
  maxEjectionMs?: number;
}

export type BreakerState = 'closed' | 'open' | 'half-open';

export const BREAKER_STATES: readonly BreakerState[] = ['closed', 'open', 'half-open'];

export class OutlierDetector {
  state: BreakerState = 'closed';
  /** Failures since the last success; a 5xx does not reset it, only a good reply does. */
  consecutive = 0;
  /** Ejections without a long enough good spell in between: the next ejection lasts base x 2^n. */
  private streak = 0;
  ejectedUntil = 0;
  private trialInFlight = false;
  private closedAt = 0;
  /** Ejections over the backend's life, for the metrics. */
  ejections = 0;
  private readonly threshold: number;
  private readonly baseMs: number;
  private readonly maxMs: number;

  constructor(o: OutlierOptions = {}) {
    this.threshold = o.consecutiveFailures ?? 5;
    this.baseMs = o.baseEjectionMs ?? 2000;
    this.maxMs = o.maxEjectionMs ?? 30_000;
    if (!(this.threshold >= 1)) throw new RangeError('consecutiveFailures must be >= 1');
    if (!(this.baseMs > 0 && this.maxMs >= this.baseMs)) throw new RangeError('0 < baseEjectionMs <= maxEjectionMs must hold');
  }

  /** Whether a new call may go here at `now`; an ejection that is over turns half-open. */
  available(now: number): boolean {
    if (this.state === 'closed') return true;
    if (this.state === 'open') {
      if (now < this.ejectedUntil) return false;
      this.state = 'half-open';
      this.trialInFlight = false;
    }
    return !this.trialInFlight;
  }

  /** A call is about to be sent here; true when it is the half-open trial. */
  onSend(): boolean {
    if (this.state !== 'half-open') return false;
    this.trialInFlight = true;
    return true;
  }

  onSuccess(trial: boolean, now: number): void {
    this.consecutive = 0;
    if (this.state === 'half-open' && (trial || !this.trialInFlight)) {
      this.state = 'closed';
      this.trialInFlight = false;
      this.closedAt = now;
    }
  }

  /** A failed call; true when it ejected the backend. */
  onFailure(trial: boolean, now: number): boolean {
    this.consecutive++;
    if (this.state === 'half-open' && trial) return this.eject(now);
    if (this.state === 'closed' && this.consecutive >= this.threshold) return this.eject(now);
    return false;
  }

  /** A call that says nothing about the backend (a 4xx, a cancellation): a trial slot frees up. */
  onNeutral(trial: boolean): void {
    if (trial) this.trialInFlight = false;
  }

  /** The backend came back after /health failed (a restart): a clean slate. */
  reset(): void {
    this.state = 'closed';
    this.consecutive = 0;
    this.streak = 0;
    this.trialInFlight = false;
  }

  /** Ms until the backend may take a trial call (0 when it may now). */
  msUntilTrial(now: number): number {
    return this.state === 'open' ? Math.max(0, this.ejectedUntil - now) : 0;
  }

  private eject(now: number): true {
    // A backend that stayed good for a whole maximum ejection starts the doubling over.
    if (this.state === 'closed' && now - this.closedAt >= this.maxMs) this.streak = 0;
    const ms = Math.min(this.maxMs, this.baseMs * 2 ** Math.min(this.streak, 30));
    this.streak++;
    this.ejections++;
    this.state = 'open';
    this.trialInFlight = false;
    this.ejectedUntil = now + ms;
    return true;
  }
}
