/**
 * Per-request deadlines with one timer instead of one per request.
 *
 * Both generator modes add deadlines in non-decreasing order (open loop: intended send time +
 * deadline, intended times increase; closed loop: actual send time + deadline), so a FIFO
 * queue is already sorted: a single timer armed for the oldest unsettled entry expires
 * entries in order; settled ones are skipped lazily. A timer per request would instead create
 * a Node timer list per distinct duration, which costs the generator more CPU than the HTTP
 * requests themselves at a few thousand req/s.
 */
export interface DeadlineHandle {
  /** The request finished before its deadline: never expire it. */
  settle(): void;
}

interface Entry {
  deadlineAt: number;
  /** Dropped once settled, so a finished request's objects are not kept alive until swept. */
  expire: (() => void) | null;
}

export class DeadlineQueue {
  private readonly entries: Entry[] = [];
  private head = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** `deadlineAt` on the `now()` clock; must not be earlier than the previous one added. */
  add(deadlineAt: number, expire: () => void): DeadlineHandle {
    const last = this.entries[this.entries.length - 1];
    if (last !== undefined && deadlineAt < last.deadlineAt) {
      throw new RangeError('deadlines must be added in non-decreasing order');
    }
    const entry: Entry = { deadlineAt, expire };
    this.entries.push(entry);
    this.arm();
    return {
      settle: () => {
        entry.expire = null;
      },
    };
  }

  /** Entries neither settled nor expired yet (counts lazily-skipped ones too until swept). */
  get size(): number {
    return this.entries.length - this.head;
  }

  /** Stops the timer; nothing expires afterwards. */
  close(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.entries.length = 0;
    this.head = 0;
  }

  private arm(): void {
    if (this.timer !== undefined || this.head >= this.entries.length) return;
    const wait = this.entries[this.head].deadlineAt - this.now();
    this.timer = setTimeout(() => this.sweep(), Math.max(0, Math.ceil(wait)));
  }

  private sweep(): void {
    this.timer = undefined;
    const now = this.now();
    while (this.head < this.entries.length) {
      const e = this.entries[this.head];
      if (e.expire !== null && e.deadlineAt > now) break;
      this.head++;
      const expire = e.expire;
      if (expire !== null) {
        e.expire = null;
        expire();
      }
    }
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries.splice(0, this.head);
      this.head = 0;
    }
    this.arm();
  }
}
