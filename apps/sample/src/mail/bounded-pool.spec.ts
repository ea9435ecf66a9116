import { BoundedPool, PoolSaturatedError, PoolTimeoutError } from './bounded-pool';

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('BoundedPool', () => {
  it('runs at most `size` tasks at once and hands slots to waiters in FIFO order', async () => {
    const pool = new BoundedPool(2, 10, 5_000);
    const gates = [deferred(), deferred(), deferred(), deferred()];
    const order: number[] = [];
    const runs = gates.map((g, i) =>
      pool.run(async () => {
        order.push(i);
        await g.promise;
        return i;
      }),
    );
    await Promise.resolve();
    expect([pool.inUse, pool.queued]).toEqual([2, 2]);
    expect(order).toEqual([0, 1]);
    gates[1].resolve();
    await runs[1];
    await Promise.resolve();
    expect(order).toEqual([0, 1, 2]);
    expect([pool.inUse, pool.queued]).toEqual([2, 1]);
    for (const g of gates) g.resolve();
    expect(await Promise.all(runs)).toEqual([0, 1, 2, 3]);
    expect([pool.inUse, pool.queued]).toEqual([0, 0]);
  });

  it('rejects at once when the queue is full', async () => {
    const pool = new BoundedPool(1, 1, 5_000);
    const gate = deferred();
    const first = pool.run(() => gate.promise);
    const second = pool.run(() => Promise.resolve());
    await expect(pool.run(() => Promise.resolve())).rejects.toBeInstanceOf(PoolSaturatedError);
    gate.resolve();
    await Promise.all([first, second]);
    expect(pool.inUse).toBe(0);
  });

  it('times a waiter out and keeps its slot accounting right', async () => {
    const pool = new BoundedPool(1, 5, 30);
    const gate = deferred();
    const first = pool.run(() => gate.promise);
    await expect(pool.run(() => Promise.resolve())).rejects.toBeInstanceOf(PoolTimeoutError);
    expect(pool.queued).toBe(0);
    gate.resolve();
    await first;
    expect(pool.inUse).toBe(0);
    await expect(pool.run(async () => 'again')).resolves.toBe('again');
  });

  it('frees the slot when a task throws', async () => {
    const pool = new BoundedPool(1, 0, 100);
    await expect(pool.run(() => Promise.reject(new Error('scan failed')))).rejects.toThrow(
      'scan failed',
    );
    expect(pool.inUse).toBe(0);
  });
});
