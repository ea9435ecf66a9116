import { EventEmitter, once } from 'node:events';
import { Agent, createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
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

  it('breaks the count down by class: tagged before or while in flight, moved, released once', () => {
    const t = new InFlightTracker();
    const a = fakeExchange();
    const b = fakeExchange();
    const c = fakeExchange();
    t.classify(a.req, 'sheddable'); // before it is counted (the admission hook's case)
    t.track(a.req, a.res);
    t.track(b.req, b.res);
    t.classify(b.req, 'normal'); // while in flight (a guard's case)
    t.track(c.req, c.res); // untagged: in no class
    expect([t.inFlight, t.inFlightOf('sheddable'), t.inFlightOf('normal')]).toEqual([3, 1, 1]);
    t.classify(b.req, 'sheddable');
    expect([t.inFlightOf('sheddable'), t.inFlightOf('normal')]).toEqual([2, 0]);
    a.res.emit('close');
    a.res.emit('close');
    expect(t.inFlightOf('sheddable')).toBe(1);
    b.res.emit('close');
    t.classify(b.req, 'critical'); // released: nothing to move
    expect([t.inFlightOf('sheddable'), t.inFlightOf('critical'), t.inFlight]).toEqual([0, 0, 1]);
    c.res.emit('close');
    expect(t.inFlight).toBe(0);
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

  it('times each event-loop turn of requests and counts the turns in a row that accepted a connection', async () => {
    const server = new EventEmitter();
    const t = new InFlightTracker();
    t.attach(server as never);
    const busy = (ms: number) => {
      const end = performance.now() + ms;
      while (performance.now() < end);
    };
    server.on('request', () => busy(2)); // the framework's work: 2 ms per request
    expect([t.turnElapsedMs(), t.previousTurnMs, t.takeTurnMax()]).toEqual([0, 0, 0]);
    const turn = async (requests: number, accept: boolean) => {
      if (accept) server.emit('connection', new EventEmitter());
      const seen: number[] = [];
      for (let i = 0; i < requests; i++) {
        seen.push(t.turnElapsedMs()); // as the admission hook would see it
        const x = fakeExchange();
        server.emit('request', x.req, x.res);
        x.res.emit('close');
      }
      await new Promise((r) => setImmediate(r)); // the check phase ends the turn
      return seen;
    };
    const seen = await turn(3, true);
    expect(seen[0]).toBe(0); // no turn yet when the first request arrives
    expect(seen[1]).toBeGreaterThanOrEqual(2); // the second waited behind the first one's 2 ms
    expect(seen[2]).toBeGreaterThanOrEqual(4);
    expect(t.turnElapsedMs()).toBe(0); // between turns
    expect(t.previousTurnMs).toBeGreaterThanOrEqual(6);
    expect(t.acceptingTurnStreak).toBe(1);
    await turn(1, true);
    expect(t.previousTurnMs).toBeGreaterThanOrEqual(2);
    expect(t.previousTurnMs).toBeLessThan(6);
    expect(t.acceptingTurnStreak).toBe(2);
    expect(t.takeTurnMax()).toBeGreaterThanOrEqual(6); // the longest turn since the last read
    expect(t.takeTurnMax()).toBe(0); // and reset
    await turn(1, false);
    expect(t.acceptingTurnStreak).toBe(0); // a turn without a new connection breaks the streak
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

  it('marks in-flight and new responses Connection: close while asked, before the admission hook', () => {
    const server = new EventEmitter();
    server.on('request', () => undefined);
    const t = new InFlightTracker();
    t.attach(server as never);
    const exchange = (headersSent = false, httpVersionMajor = 1) => {
      const x = fakeExchange();
      const headers: Record<string, string> = {};
      Object.assign(x.req, { httpVersionMajor });
      Object.assign(x.res, {
        headersSent,
        setHeader: (name: string, value: string) => (headers[name] = value),
      });
      return { ...x, headers };
    };
    const pending = exchange();
    const streaming = exchange(true);
    server.emit('request', pending.req, pending.res);
    server.emit('request', streaming.req, streaming.res);
    expect(pending.headers).toEqual({});
    expect(t.closingConnections).toBe(false);
    expect(t.setConnectionClose(true)).toBe(1); // headers already written: cannot be marked
    expect(pending.headers).toEqual({ connection: 'close' });
    expect(streaming.headers).toEqual({});
    let seenByHook: Record<string, string> | undefined;
    const fresh = exchange();
    t.setAdmission(() => {
      seenByHook = { ...fresh.headers };
      return true;
    });
    server.emit('request', fresh.req, fresh.res);
    expect(seenByHook).toEqual({ connection: 'close' });
    const h2 = exchange(false, 2);
    server.emit('request', h2.req, h2.res);
    expect(h2.headers).toEqual({});
    expect(t.setConnectionClose(false)).toBe(0);
    const after = exchange();
    server.emit('request', after.req, after.res);
    expect(after.headers).toEqual({});
  });

  it('closes keep-alive connections after their response once Connection: close is on (real server)', async () => {
    const t = new InFlightTracker();
    const held: ServerResponse[] = [];
    const server = createServer((req, res) => {
      if (req.url === '/hold') held.push(res);
      else res.end('ok');
    });
    t.attach(server);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const get = (path: string) =>
      new Promise<{ connection: string | undefined; body: string }>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, path, agent }, (res) => {
          let body = '';
          res.on('data', (c) => (body += c));
          res.on('end', () => resolve({ connection: res.headers.connection, body }));
        });
        req.on('error', reject);
        req.end();
      });
    try {
      expect((await get('/')).connection).toBe('keep-alive');
      const holding = get('/hold');
      while (held.length === 0) await new Promise((r) => setTimeout(r, 5));
      expect(t.inFlight).toBe(1);
      expect(t.setConnectionClose(true)).toBe(1);
      held[0]!.end('late');
      expect(await holding).toEqual({ connection: 'close', body: 'late' });
      expect((await get('/')).connection).toBe('close'); // a new connection, marked on arrival
      expect(await t.waitForIdle(1_000)).toBe(true);
      // two connections were accepted (the keep-alive one carried '/' and '/hold', then closed; then a new one)
      for (let i = 0; i < 100 && t.connections > 0; i++) await new Promise((r) => setTimeout(r, 5));
      expect([t.connectionsTotal, t.connections]).toEqual([2, 0]);
    } finally {
      agent.destroy();
      server.closeAllConnections();
      server.close();
    }
  });
});
