import {
  type BoundaryRules,
  type LeftEdge,
  type RightEdge,
  parseLeftEdgeKey,
  parseRightEdgeKey,
} from './boundary.js';

const MAX_EDGES = 1 << 20;

/**
 * Interns the edge keys that workers report for each tokenized text and memoises
 * joinIsExact per (left, right) pair, so judging a warm (query, item) join costs a Map lookup.
 * Job postings share a handful of openings and queries a handful of endings, so the memo stays
 * small; past MAX_EDGES new edges are judged without memoisation.
 */
export class JoinOracle {
  private readonly leftIds = new Map<string, number>();
  private readonly rightIds = new Map<string, number>();
  private readonly lefts: LeftEdge[] = [];
  private readonly rights: RightEdge[] = [];
  private readonly memo = new Map<number, boolean>();

  constructor(readonly rules: BoundaryRules) {}

  left(key: string): number {
    let id = this.leftIds.get(key);
    if (id === undefined) {
      if (this.lefts.length >= MAX_EDGES) return -1;
      id = this.lefts.length;
      this.lefts.push(parseLeftEdgeKey(key));
      this.leftIds.set(key, id);
    }
    return id;
  }

  right(key: string): number {
    let id = this.rightIds.get(key);
    if (id === undefined) {
      if (this.rights.length >= MAX_EDGES) return -1;
      id = this.rights.length;
      this.rights.push(parseRightEdgeKey(key));
      this.rightIds.set(key, id);
    }
    return id;
  }

  /** Is encode(left text + right text) the concatenation of their own encodings? */
  exact(leftId: number, rightId: number): boolean {
    if (leftId < 0 || rightId < 0) return false;
    const k = leftId * MAX_EDGES + rightId;
    let v = this.memo.get(k);
    if (v === undefined) {
      v = this.rules.joinIsExact(this.lefts[leftId] as LeftEdge, this.rights[rightId] as RightEdge);
      this.memo.set(k, v);
    }
    return v;
  }
}
