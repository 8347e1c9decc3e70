/**
 * What the SGLang body writer and reply reader need of one backend call, stated here so that
 * backend/ depends on no pipeline type: pipeline/batch.ts's Batch and ScoreJob have this shape.
 * Segment s covers job s's active items [from[s], to[s]).
 */
export interface BatchJobView {
  /** Item index of each active slot. */
  readonly active: Int32Array;
  /** Prompt parts per item: a (and b, when the prompt is split) as views into id arrays. */
  readonly aRef: Int32Array[];
  readonly aOff: Int32Array;
  readonly aLen: Int32Array;
  readonly bRef: Int32Array[];
  readonly bOff: Int32Array;
  readonly bLen: Int32Array;
  /** The shared query ids. */
  readonly qRef: Int32Array;
  readonly qOff: number;
  readonly qLen: number;
  /**
   * The client's request bytes, its id arena, and where those bytes already spell an id list as
   * the backend body would (ScoreJob.idSpan): such lists are copied, not printed again.
   */
  readonly body: Buffer;
  readonly arena: Int32Array;
  readonly idSpan: Int32Array;
  readonly queryOff: number;
  readonly queryLen: number;
  readonly querySpanStart: number;
  readonly querySpanEnd: number;
  /** Items carry whole prompts (query []). */
  readonly wholePrompts: boolean;
  readonly labels: Int32Array;
  readonly nLabels: number;
  readonly applySoftmax: boolean;
  readonly itemFirst: boolean;
  /** Where each item's score row sits in a reply buffer (written by the reply reader). */
  readonly rowBuf: Buffer[];
  readonly rowStart: Int32Array;
  readonly rowEnd: Int32Array;
}

export interface ScoreBatchView {
  /** Segment s's job for s in [0, count); slots past count may be null. */
  readonly jobs: readonly (BatchJobView | null)[];
  readonly from: Int32Array;
  readonly to: Int32Array;
  readonly count: number;
  readonly items: number;
  lead(): BatchJobView;
}
