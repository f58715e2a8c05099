/**
 * Answers in order per thread: work for one thread starts only after the work queued before it in
 * that thread has finished (two quick messages are answered in the order sent), while other threads
 * run alongside. Order is per process; across replicas the store's claims decide who answers.
 */
export class ThreadQueue {
  private readonly tails = new Map<string, Promise<void>>();

  /** Queues `work` behind the thread's earlier work; resolves (or rejects) with it. */
  run<T>(thread: string, work: () => Promise<T>): Promise<T> {
    const before = this.tails.get(thread) ?? Promise.resolve();
    const result = before.then(work);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(thread, tail);
    void tail.then(() => {
      if (this.tails.get(thread) === tail) this.tails.delete(thread);
    });
    return result;
  }

  /** Threads with queued or running work. */
  get size(): number {
    return this.tails.size;
  }
}
