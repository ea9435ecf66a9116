import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { InFlightTracker } from './in-flight.tracker';

function fakeExchange(url = '/x') {
  const req = Object.assign(new EventEmitter(), {
    method: 'GET',
    url,
  }) as unknown as IncomingMessage;
  const res = Object.assign(new EventEmitter(), {
    writableFinished: false,
  }) as unknown as ServerResponse & {
    writableFinished: boolean;
  };
  return { req, res };
}

describe('InFlightTracker', () => {
  it('counts a request until its response closes, exactly once', () => {
    const t = new InFlightTracker();
    const a = fakeExchange();
    const b = fakeExchange();
    t.track(a.req, a.res);
    t.track(b.req, b.res);
    t.track(a.req, a.res); // the same request twice is counted once
    expect(t.inFlight).toBe(2);
    a.res.writableFinished = true;
    a.res.emit('close');
    a.res.emit('close');
    expect(t.inFlight).toBe(1);
    b.res.emit('close'); // never finished: an abort
    expect(t.inFlight).toBe(0);
    expect([t.startedTotal, t.completedTotal, t.abortedTotal]).toEqual([2, 2, 1]);
  });

  it('records start times per request and lists the oldest first', () => {
    const t = new InFlightTracker();
    const a = fakeExchange('/a');
    const b = fakeExchange('/b');
    t.track(a.req, a.res);
    t.track(b.req, b.res);
    expect(t.startedAt(a.req)).toBeLessThanOrEqual(t.startedAt(b.req)!);
    expect(t.startedAt({ raw: a.req })).toBe(t.startedAt(a.req)); // a Fastify request wraps the Node one
    expect(t.elapsedMs(a.req)).toBeGreaterThanOrEqual(0);
    expect(t.oldest(1).map((r) => r.url)).toEqual(['/a']);
    a.res.emit('close');
    expect(t.oldest().map((r) => r.url)).toEqual(['/b']);
    expect(t.startedAt(fakeExchange().req)).toBeUndefined();
  });

  it('reports the peak since the last read, then resets it to the current count', () => {
    const t = new InFlightTracker();
    const xs = [fakeExchange(), fakeExchange(), fakeExchange()];
    for (const x of xs) t.track(x.req, x.res);
    xs[0].res.emit('close');
    xs[1].res.emit('close');
    expect(t.takePeak()).toBe(3);
    expect(t.takePeak()).toBe(1);
  });

  it('waitForIdle resolves true when the last request closes, false on timeout', async () => {
    const t = new InFlightTracker();
    expect(await t.waitForIdle(0)).toBe(true);
    const a = fakeExchange();
    t.track(a.req, a.res);
    expect(await t.waitForIdle(20)).toBe(false);
    const waiting = t.waitForIdle(5_000);
    setTimeout(() => a.res.emit('close'), 10);
    const started = Date.now();
    expect(await waiting).toBe(true);
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('attaches once per server, in front of the framework listener, and refuses a second tracker', () => {
    const server = new EventEmitter();
    const order: string[] = [];
    server.on('request', () => order.push(`framework saw ${t.inFlight}`));
    const t = new InFlightTracker();
    t.attach(server as never);
    t.attach(server as never);
    expect(server.listenerCount('request')).toBe(1);
    const x = fakeExchange();
    server.emit('request', x.req, x.res);
    expect(order).toEqual(['framework saw 1']);
    expect(t.inFlight).toBe(1);
    expect(() => new InFlightTracker().attach(server as never)).toThrow(/already counted/);
    t.detach(server as never);
    expect(t.isAttached(server)).toBe(false);
    server.emit('request', fakeExchange().req, fakeExchange().res);
    expect(order).toEqual(['framework saw 1', 'framework saw 1']); // the framework has its listener back
    expect(t.inFlight).toBe(1);
    x.res.emit('close');
    expect(t.inFlight).toBe(0);
  });

  it('lets an admission hook answer a request before it is counted or reaches the framework', () => {
    const server = new EventEmitter();
    let frameworkCalls = 0;
    server.on('request', () => frameworkCalls++);
    const t = new InFlightTracker();
    t.attach(server as never);
    let admit = false;
    const remove = t.setAdmission(() => admit);
    expect(() => t.setAdmission(() => true)).toThrow(/already installed/);
    server.emit('request', fakeExchange().req, fakeExchange().res);
    expect([frameworkCalls, t.inFlight, t.rejectedTotal, t.startedTotal]).toEqual([0, 0, 1, 0]);
    admit = true;
    server.emit('request', fakeExchange().req, fakeExchange().res);
    expect([frameworkCalls, t.inFlight, t.rejectedTotal, t.startedTotal]).toEqual([1, 1, 1, 1]);
    remove();
    admit = false;
    server.emit('request', fakeExchange().req, fakeExchange().res);
    expect([frameworkCalls, t.rejectedTotal]).toEqual([2, 1]);
  });
});
