/** The pool is full and so is its wait queue. */
export class PoolSaturatedError extends Error {
  constructor(
    readonly size: number,
    readonly queueLimit: number,
  ) {
    super(`pool saturated: ${size} busy, ${queueLimit} waiting`);
    this.name = 'PoolSaturatedError';
  }
}

/** A task waited for a slot, or ran, longer than the pool's timeout. */
export class PoolTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`no pool slot within ${timeoutMs} ms`);
    this.name = 'PoolTimeoutError';
  }
}

interface Waiter {
  grant: () => void;
  timer: NodeJS.Timeout;
}

/**
 * At most `size` tasks run at once; up to `queueLimit` more wait in FIFO order for at most `timeoutMs`.
 * This is the Tomcat-style bounded pool in front of the simulated downstream: when the downstream is slow,
 * requests pile up in flight waiting for it, which is the incident `@steady/load-shedding` exists for.
 */
export class BoundedPool {
  private active = 0;
  private readonly waiters: Waiter[] = [];

  constructor(
    readonly size: number,
    readonly queueLimit: number,
    readonly timeoutMs: number,
  ) {}

  /** Tasks running now. */
  get inUse(): number {
    return this.active;
  }

  /** Tasks waiting for a slot. */
  get queued(): number {
    return this.waiters.length;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    await this.acquire();
    try {
      return await task();
    } finally {
      this.release();
    }
  }

  private acquire(): Promise<void> {
    if (this.active < this.size) {
      this.active++;
      return Promise.resolve();
    }
    if (this.waiters.length >= this.queueLimit) {
      return Promise.reject(new PoolSaturatedError(this.size, this.queueLimit));
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        grant: () => {
          clearTimeout(waiter.timer);
          resolve();
        },
        timer: setTimeout(() => {
          const i = this.waiters.indexOf(waiter);
          if (i >= 0) this.waiters.splice(i, 1);
          reject(new PoolTimeoutError(this.timeoutMs));
        }, this.timeoutMs),
      };
      this.waiters.push(waiter);
    });
  }

  private release(): void {
    const next = this.waiters.shift();
    if (next) {
      next.grant(); // the slot passes straight to the next waiter
    } else {
      this.active--;
    }
  }
}
