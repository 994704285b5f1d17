/**
 * Work that waits for a quiet moment of the container service: housekeeping that blocks pierd's
 * thread (starting the spare monitor forks the whole daemon) must not land inside a container's
 * create, start, exit or removal, where a client waits for every millisecond.
 */

/** Runs queued tasks once no container operation has been in progress for `quietMs`. */
export class IdleWork {
  private busy = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly tasks = new Set<() => void>();
  private closed = false;

  constructor(private readonly quietMs: number) {}

  /** Marks the start of an operation; the returned function marks its end (once, however often called). */
  begin(): () => void {
    this.busy++;
    this.disarm();
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.busy--;
      if (this.busy === 0) this.arm();
    };
  }

  /** Runs `op` as one operation (see {@link begin}). */
  async during<T>(op: () => Promise<T>): Promise<T> {
    const end = this.begin();
    try {
      return await op();
    } finally {
      end();
    }
  }

  /** Runs `task` at the next quiet moment (a task asked for again before then runs once). */
  whenIdle(task: () => void): void {
    if (this.closed) return;
    this.tasks.add(task);
    if (this.busy === 0) this.arm();
  }

  /** True while an operation is in progress. */
  get active(): boolean {
    return this.busy > 0;
  }

  /** Drops what is queued and queues nothing more (the service is closing). */
  close(): void {
    this.closed = true;
    this.disarm();
    this.tasks.clear();
  }

  private arm(): void {
    if (this.closed || this.tasks.size === 0) return;
    this.disarm();
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.busy > 0) return;
      const tasks = [...this.tasks];
      this.tasks.clear();
      for (const t of tasks) t();
    }, this.quietMs);
    // A pending task must not keep pierd (or a test) alive.
    this.timer.unref();
  }

  private disarm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
