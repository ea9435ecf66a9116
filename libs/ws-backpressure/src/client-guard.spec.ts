import { ClientGuard, PAUSED_HANDLERS, type GuardHub, type GuardTransport } from './client-guard';
import { DefaultOverflowPolicy } from './default-overflow.policy';
import type { OverflowPolicy } from './overflow-policy.interface';
import type {
  DropReason,
  EvictionReason,
  WsBackpressureGatewayOptions,
} from './ws-backpressure-options.interface';
import { resolveGatewayBackpressure } from './ws-backpressure-options.validation';
import { WsMessageDroppedError } from './ws-message-dropped.error';

const KIB = 1024;

/**
 * A socket whose "kernel" takes nothing until `drain(bytes)`: every write stays in `bufferedAmount`, and send
 * callbacks fire in order as bytes drain — what ws does once the kernel's buffers are full.
 */
class FakeSocket implements GuardTransport {
  bufferedAmount = 0;
  readyState = 1;
  paused = false;
  pings = 0;
  terminated = false;
  readonly written: string[] = [];
  /** Per write: did it carry a send callback? */
  readonly withCallback: boolean[] = [];
  readonly events: unknown[][] = [];
  private readonly pending: Array<{ bytes: number; cb?: (err?: Error) => void }> = [];

  rawSend(data: unknown, _options: unknown, cb?: (err?: Error) => void): void {
    const bytes = Buffer.byteLength(data as string);
    this.written.push(data as string);
    this.withCallback.push(cb !== undefined);
    this.bufferedAmount += bytes;
    this.pending.push({ bytes, cb });
  }

  private credit = 0;

  /**
   * The peer reads `bytes` more: whole frames leave the buffer as the read credit covers them (the rest carries
   * over to the next read, as a partly written frame would), and their callbacks fire.
   */
  drain(bytes: number): void {
    this.credit = Math.min(this.credit + bytes, Number.MAX_SAFE_INTEGER);
    while (this.pending.length > 0 && this.pending[0].bytes <= this.credit) {
      const { bytes: b, cb } = this.pending.shift()!;
      this.credit -= b;
      this.bufferedAmount -= b;
      cb?.();
    }
    if (this.pending.length === 0) this.credit = 0;
  }

  pause(): void {
    this.paused = true;
  }
  resume(): void {
    this.paused = false;
  }
  ping(): void {
    this.pings++;
  }
  terminate(): void {
    this.terminated = true;
    this.readyState = 3;
  }
  emit(...args: unknown[]): boolean {
    this.events.push(args);
    return true;
  }
}

class RecordingHub implements GuardHub {
  total = 0;
  readonly changes: boolean[] = [];
  readonly drops: Array<[DropReason, number]> = [];
  readonly evictions: Array<[EvictionReason, string]> = [];
  coalescedCount = 0;
  constructor(readonly policy: OverflowPolicy = new DefaultOverflowPolicy()) {}
  footprintChanged(delta: number): void {
    this.total += delta;
  }
  writabilityChanged(_g: ClientGuard, writable: boolean): void {
    this.changes.push(writable);
  }
  dropped(_g: ClientGuard, count: number, reason: DropReason): void {
    this.drops.push([reason, count]);
  }
  coalesced(): void {
    this.coalescedCount++;
  }
  evict(guard: ClientGuard, reason: EvictionReason, detail: string): void {
    this.evictions.push([reason, detail]);
    guard.markEvicting();
  }
}

function setup(options: WsBackpressureGatewayOptions = {}, policy?: OverflowPolicy) {
  const config = resolveGatewayBackpressure(
    {
      highWaterMark: 256 * KIB,
      lowWaterMark: 64 * KIB,
      slowConsumerTimeoutMs: false,
      ...options,
    },
    undefined,
    '/test',
  );
  const socket = new FakeSocket();
  const hub = new RecordingHub(policy);
  const guard = new ClientGuard(socket, config, hub, '/test', '#1');
  return { socket, hub, guard, config };
}

const msg = (name: string, bytes = 4 * KIB) =>
  `{"event":"${name}","data":"${'x'.repeat(bytes - 22 - name.length)}"}`;

/** Sends 4 KiB until the guard turns unwritable (bounded). */
function fill(guard: ClientGuard): void {
  for (let i = 0; i < 1000 && guard.isWritable; i++) guard.offer(msg('fill'), undefined, undefined);
  if (guard.isWritable) throw new Error('did not turn unwritable');
}

/**
 * One high/low cycle: a producer (4 KiB a tick) against a reader that first stalls, then reads in bursts —
 * 13 KiB every third tick, a little faster than the producer on average — so the buffer hovers near a mark, where
 * flapping happens. Returns the writability changes seen during the cycle.
 */
function cycle(guard: ClientGuard, socket: FakeSocket, hub: RecordingHub): boolean[] {
  const before = hub.changes.length;
  fill(guard);
  for (let tick = 0; tick < 600; tick++) {
    guard.offer(msg(`t${tick}`), undefined, undefined);
    if (tick % 3 === 2) socket.drain(13 * KIB);
  }
  socket.drain(Number.MAX_SAFE_INTEGER);
  return hub.changes.slice(before);
}

describe('ClientGuard: water marks and hysteresis', () => {
  it('turns unwritable above the high mark and writable again only at the low mark', () => {
    const { guard, socket, hub } = setup();
    expect(guard.bytesBeforeUnwritable()).toBe(256 * KIB);
    fill(guard);
    expect(socket.bufferedAmount).toBeGreaterThan(256 * KIB);
    expect(socket.bufferedAmount).toBeLessThanOrEqual(256 * KIB + 4 * KIB);
    expect(guard.bytesBeforeUnwritable()).toBe(0);
    expect(guard.bytesBeforeWritable()).toBe(socket.bufferedAmount - 64 * KIB);
    expect(hub.changes).toEqual([false]);
    expect(socket.events).toEqual([['writabilityChanged', false, socket.bufferedAmount]]);
    socket.drain(128 * KIB); // 132 KiB left: between the marks, still unwritable
    expect(guard.isWritable).toBe(false);
    socket.drain(68 * KIB); // 64 KiB left: at the low mark
    expect(guard.isWritable).toBe(true);
    expect(hub.changes).toEqual([false, true]);
    expect(guard.bytesBeforeUnwritable()).toBe(192 * KIB);
  });

  it('skips the send callback only for a small write into an empty buffer', () => {
    const { guard, socket } = setup();
    guard.offer(msg('a'), undefined, undefined); // empty buffer: no callback needed
    guard.offer(msg('b'), undefined, undefined); // bytes waiting: this one reports the drain
    guard.offer(msg('big', 20 * KIB), undefined, undefined);
    expect(socket.withCallback).toEqual([false, true, true]);
    socket.drain(Number.MAX_SAFE_INTEGER);
    guard.offer(msg('c'), undefined, () => undefined); // the sender's own callback always goes through
    expect(socket.withCallback.at(-1)).toBe(true);
    // however it turned unwritable, a callback is pending to turn it writable again
    const tiny = setup({ highWaterMark: 1024, lowWaterMark: 0 });
    for (let i = 0; i < 5 && tiny.guard.isWritable; i++) {
      tiny.guard.offer(msg(`t${i}`, 1000), undefined, undefined);
    }
    expect(tiny.guard.isWritable).toBe(false);
    tiny.socket.drain(Number.MAX_SAFE_INTEGER);
    expect(tiny.guard.isWritable).toBe(true);
  });

  it('changes writability at most twice per high/low cycle', () => {
    const { guard, socket, hub } = setup();
    const perCycle = [
      cycle(guard, socket, hub),
      cycle(guard, socket, hub),
      cycle(guard, socket, hub),
    ];
    expect(perCycle).toEqual([
      [false, true],
      [false, true],
      [false, true],
    ]);
  });

  it('control: without hysteresis (low == high) the same traffic flaps', () => {
    const { guard, socket, hub } = setup({ lowWaterMark: 256 * KIB });
    const changes = cycle(guard, socket, hub);
    expect(changes.length).toBeGreaterThan(2);
  });

  it('pauses inbound while unwritable and resumes it, keeping other pause reasons', () => {
    const { guard, socket } = setup();
    guard.pauseInbound(PAUSED_HANDLERS);
    expect(socket.paused).toBe(true);
    fill(guard);
    guard.resumeInbound(PAUSED_HANDLERS);
    expect(socket.paused).toBe(true); // still unwritable
    socket.drain(Number.MAX_SAFE_INTEGER);
    expect(socket.paused).toBe(false);
  });

  it('accounts buffered + queued bytes in the process-wide total and leaves it on close', () => {
    const { guard, socket, hub } = setup({ overflow: 'queue' });
    fill(guard);
    guard.offer(msg('q'), undefined, undefined);
    expect(hub.total).toBe(socket.bufferedAmount + 4 * KIB);
    guard.dispose();
    expect(hub.total).toBe(0);
    expect(hub.drops).toEqual([['closed', 1]]);
  });
});

describe('ClientGuard: overflow policies', () => {
  it('drop: the message is discarded and its callback gets a WsMessageDroppedError', async () => {
    const { guard, hub } = setup();
    fill(guard);
    const err = await new Promise<Error | undefined>((resolve) =>
      expect(guard.offer(msg('late'), undefined, resolve)).toBe('dropped'),
    );
    expect(err).toBeInstanceOf(WsMessageDroppedError);
    expect((err as WsMessageDroppedError).reason).toBe('overflow');
    expect(hub.drops).toEqual([['overflow', 1]]);
  });

  it('queue: held in order and flushed once writable', () => {
    const { guard, socket } = setup({ overflow: 'queue' });
    fill(guard);
    for (const name of ['q1', 'q2', 'q3'])
      expect(guard.offer(msg(name), undefined, undefined)).toBe('queued');
    // new messages queue behind the held ones even right after the drain
    socket.drain(Number.MAX_SAFE_INTEGER);
    expect(guard.isWritable).toBe(true);
    expect(guard.offer(msg('after'), undefined, undefined)).toBe('sent');
    const names = socket.written
      .map((w) => /"event":"(\w+)"/.exec(w)![1])
      .filter((n) => n !== 'fill');
    expect(names).toEqual(['q1', 'q2', 'q3', 'after']);
  });

  it('queue: when full, evicts by default or drops with queueFull "drop"', () => {
    const a = setup({ overflow: 'queue', maxQueuedMessages: 2 });
    fill(a.guard);
    a.guard.offer(msg('q1'), undefined, undefined);
    a.guard.offer(msg('q2'), undefined, undefined);
    expect(a.guard.offer(msg('q3'), undefined, undefined)).toBe('evicted');
    expect(a.hub.evictions.map(([r]) => r)).toEqual(['queue_full']);

    const b = setup({ overflow: 'queue', maxQueuedBytes: 6 * KIB, queueFull: 'drop' });
    fill(b.guard);
    expect(b.guard.offer(msg('q1'), undefined, undefined)).toBe('queued');
    expect(b.guard.offer(msg('q2'), undefined, undefined)).toBe('dropped');
    expect(b.hub.drops).toEqual([['queue_full', 1]]);
  });

  it('coalesce: the latest per key, keyed by the Nest event name unless the sender gives a key', () => {
    const { guard, socket, hub } = setup({ overflow: 'coalesce' });
    fill(guard);
    expect(guard.offer(msg('price'), undefined, undefined)).toBe('queued');
    expect(guard.offer(msg('news'), undefined, undefined)).toBe('queued');
    expect(guard.offer(msg('price', 3 * KIB), undefined, undefined)).toBe('coalesced');
    expect(guard.offer(msg('x1'), { coalesceKey: 'k' }, undefined)).toBe('queued');
    expect(guard.offer(msg('x2'), { coalesceKey: 'k' }, undefined)).toBe('coalesced');
    expect(guard.queuedMessages).toBe(3);
    expect(guard.queuedBytes).toBe(3 * KIB + 8 * KIB);
    expect(hub.coalescedCount).toBe(2);
    socket.drain(Number.MAX_SAFE_INTEGER);
    const names = socket.written
      .filter((w) => !w.startsWith('{"event":"fill"'))
      .map((w) => `${/"event":"(\w+)"/.exec(w)![1]}:${Buffer.byteLength(w)}`);
    expect(names).toEqual([`price:${3 * KIB}`, `news:${4 * KIB}`, `x2:${4 * KIB}`]);
  });

  it('evict: the client is evicted on the first overflowing message', () => {
    const { guard, hub } = setup({ overflow: 'evict' });
    fill(guard);
    expect(guard.offer(msg('late'), undefined, undefined)).toBe('evicted');
    expect(hub.evictions[0][0]).toBe('overflow');
    expect(guard.offer(msg('later'), undefined, undefined)).toBe('closed');
  });

  it('the sender can choose per message; a custom policy decides for each overflowing one', () => {
    const policy: OverflowPolicy = {
      onOverflow: (ctx) =>
        typeof ctx.data === 'string' && ctx.data.includes('"chat"') ? 'queue' : 'drop',
    };
    const { guard } = setup({}, policy);
    fill(guard);
    expect(guard.offer(msg('typing'), undefined, undefined)).toBe('dropped');
    expect(guard.offer(msg('chat'), undefined, undefined)).toBe('queued');

    const d = setup();
    fill(d.guard);
    expect(d.guard.offer(msg('must'), { overflow: 'queue' }, undefined)).toBe('queued');
  });

  it('a message larger than maxBufferedBytes is dropped as too_large, even when writable', () => {
    const { guard, hub } = setup({ maxBufferedBytes: 512 * KIB, overflow: 'queue' });
    expect(guard.offer(msg('huge', 600 * KIB), undefined, undefined)).toBe('dropped');
    expect(hub.drops).toEqual([['too_large', 1]]);
    expect(guard.isWritable).toBe(true);
  });

  it('notices a buffer grown past the high mark by unguarded writes', () => {
    const { guard, socket, hub } = setup();
    socket.rawSend(msg('big', 300 * KIB), undefined, () => undefined);
    expect(guard.offer(msg('next'), undefined, undefined)).toBe('dropped');
    expect(hub.changes).toEqual([false]);
  });
});

describe('ClientGuard: slow consumer timeout', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('evicts a client unwritable for slowConsumerTimeoutMs, not one that drained in time', () => {
    const slow = setup({ slowConsumerTimeoutMs: 1000 });
    fill(slow.guard);
    vi.advanceTimersByTime(999);
    expect(slow.hub.evictions).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(slow.hub.evictions.map(([r]) => r)).toEqual(['slow_consumer']);
    expect(slow.hub.evictions[0][1]).toContain('slowConsumerTimeoutMs 1000');

    const recovers = setup({ slowConsumerTimeoutMs: 1000 });
    fill(recovers.guard);
    vi.advanceTimersByTime(900);
    recovers.socket.drain(Number.MAX_SAFE_INTEGER);
    vi.advanceTimersByTime(5000);
    expect(recovers.hub.evictions).toEqual([]);
  });
});
