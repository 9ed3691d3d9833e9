/**
 * Runs async jobs one at a time in arrival order. A strategy's callbacks go through one of
 * these so it never sees a tick while it is still handling the previous one.
 */
export class SerialQueue {
  private tail: Promise<void> = Promise.resolve();
  private depth = 0;

  constructor(private readonly onError: (err: unknown) => void) {}

  push(job: () => void | Promise<void>): void {
    this.depth++;
    this.tail = this.tail
      .then(job)
      .catch(this.onError)
      .finally(() => {
        this.depth--;
      });
  }
  get size(): number {
    return this.depth;
  }
  /** Resolves once everything queued so far has run. */
  drain(): Promise<void> {
    return this.tail;
  }
}
