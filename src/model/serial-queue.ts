/**
 * Runs tasks one at a time, in the order they were queued: a task starts
 * once every earlier one has settled, whether it succeeded or failed. Each
 * caller gets its own task's outcome; a failure never blocks the tasks
 * behind it.
 */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => Promise<T> | T): Promise<T> {
    const next = this.tail.then(task);
    this.tail = next.catch(() => {});
    return next;
  }

  /** Settles once every task queued so far has. */
  idle(): Promise<void> {
    return this.tail.then(() => {});
  }
}
