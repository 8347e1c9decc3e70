import type { BenchRequest, RequestSource } from '../loadgen/target.js';
import { Rng } from '../rng.js';
import type { Corpus, CorpusItem, CorpusQuery } from './corpus.js';

/**
 * Page navigation: a searcher comes back to the same query for the next page a few minutes
 * later. Ranking re-scores the same retrieved candidates for every page (the page only decides
 * which of the ranked results are shown), so a revisit carries the same query and the same items,
 * except for a small churn (new postings, retrieval drift). Score caches with a TTL of minutes
 * turn these revisits into hits; that is what this mode exists to measure.
 */
export interface NavigationConfig {
  /** Probability that a searcher asks for one more page after each page. */
  revisitProbability: number;
  /** Mean delay before the next page, exponential. */
  meanRevisitSeconds: number;
  /** Pages per search at most, the first included. */
  maxPages: number;
  /** Probability that each item is replaced by another candidate on a revisit. */
  churn: number;
}

export const DEFAULT_NAVIGATION: NavigationConfig = {
  revisitProbability: 0.5,
  meanRevisitSeconds: 90,
  maxPages: 5,
  churn: 0.1,
};

export interface RequestMixConfig {
  seed: number;
  itemsPerRequest: number;
  /** Share of a request's items drawn from the query's own job family, like retrieval output. */
  familyAffinity: number;
  /** null: every request is a fresh search. */
  navigation: NavigationConfig | null;
}

interface Session {
  id: number;
  query: CorpusQuery;
  items: CorpusItem[];
  page: number;
  dueMs: number;
}

/** Turns a corpus into a deterministic request stream (given the seed and the send schedule). */
export class CorpusRequestSource implements RequestSource {
  private readonly rng: Rng;
  /** Pending revisits, a binary min-heap on dueMs. */
  private readonly pending: Session[] = [];
  private sessions = 0;

  constructor(
    private readonly corpus: Corpus,
    private readonly cfg: RequestMixConfig,
  ) {
    if (!(cfg.itemsPerRequest >= 1) || cfg.itemsPerRequest > corpus.items.length) {
      throw new Error(`items per request must be in 1..${corpus.items.length}, got ${cfg.itemsPerRequest}`);
    }
    this.rng = Rng.derive(cfg.seed, 'requests');
  }

  /** Revisits waiting for their time (for reports and tests). */
  get pendingRevisits(): number {
    return this.pending.length;
  }

  next(scheduledAtMs: number): BenchRequest {
    const top = this.pending[0];
    const session = top !== undefined && top.dueMs <= scheduledAtMs ? this.revisit(this.popPending()) : this.fresh();
    this.maybeScheduleRevisit(session, scheduledAtMs);
    return { query: session.query, items: session.items, page: session.page, session: session.id };
  }

  private fresh(): Session {
    const query = this.rng.pick(this.corpus.queries);
    const items: CorpusItem[] = [];
    const taken = new Set<number>();
    while (items.length < this.cfg.itemsPerRequest) {
      const it = this.candidate(query);
      if (taken.has(it.id)) continue;
      taken.add(it.id);
      items.push(it);
    }
    return { id: this.sessions++, query, items, page: 1, dueMs: 0 };
  }

  private revisit(prev: Session): Session {
    const items = prev.items.slice();
    const taken = new Set(items.map((it) => it.id));
    for (let i = 0; i < items.length; i++) {
      if (!this.rng.chance(this.cfg.navigation?.churn ?? 0)) continue;
      // Bounded redraws: a tiny family may have no unused candidate left.
      for (let tries = 0; tries < 16; tries++) {
        const it = this.candidate(prev.query);
        if (taken.has(it.id)) continue;
        taken.delete((items[i] as CorpusItem).id);
        taken.add(it.id);
        items[i] = it;
        break;
      }
    }
    return { id: prev.id, query: prev.query, items, page: prev.page + 1, dueMs: 0 };
  }

  private candidate(query: CorpusQuery): CorpusItem {
    const family = this.corpus.itemsByFamily[query.familyIndex];
    if (family !== undefined && family.length > 0 && this.rng.chance(this.cfg.familyAffinity)) {
      return this.corpus.items[this.rng.pick(family)] as CorpusItem;
    }
    return this.rng.pick(this.corpus.items);
  }

  private maybeScheduleRevisit(s: Session, nowMs: number): void {
    const nav = this.cfg.navigation;
    if (nav === null || s.page >= nav.maxPages || !this.rng.chance(nav.revisitProbability)) return;
    this.pushPending({ ...s, dueMs: nowMs + this.rng.exponential(nav.meanRevisitSeconds * 1000) });
  }

  private pushPending(s: Session): void {
    const h = this.pending;
    h.push(s);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if ((h[p] as Session).dueMs <= s.dueMs) break;
      h[i] = h[p] as Session;
      i = p;
    }
    h[i] = s;
  }

  private popPending(): Session {
    const h = this.pending;
    const top = h[0] as Session;
    const last = h.pop() as Session;
    if (h.length > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= h.length) break;
        const r = l + 1;
        const c = r < h.length && (h[r] as Session).dueMs < (h[l] as Session).dueMs ? r : l;
        if ((h[c] as Session).dueMs >= last.dueMs) break;
        h[i] = h[c] as Session;
        i = c;
      }
      h[i] = last;
    }
    return top;
  }
}
