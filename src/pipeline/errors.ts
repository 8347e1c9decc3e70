/** A request the pipeline refuses, with the status and SGLang envelope the client gets. */
export class ScoreError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type: string,
    readonly retryAfterS: number | null = null,
  ) {
    super(message);
    this.name = 'ScoreError';
  }
}
