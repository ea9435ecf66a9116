import { WsBackpressureService } from '@steady/ws-backpressure';
import { filter, firstValueFrom } from 'rxjs';
import request from 'supertest';
import WebSocket from 'ws';
import { AppModule } from '../apps/sample/src/app.module';
import { MailEvents } from '../apps/sample/src/mail/mail-events';
import type { Mail } from '../apps/sample/src/mail/mail.interface';
import {
  MAX_SUBSCRIPTIONS_PER_CLIENT,
  NotificationsGateway,
} from '../apps/sample/src/notifications/notifications.gateway';
import { useSampleWebSocketAdapter } from '../apps/sample/src/sample.bootstrap';
import { sampleConfig, type SampleConfig } from '../apps/sample/src/sample.config';
import { ADAPTERS, createTestApp, type AdapterName, type TestApp } from './support/nest-app';
import {
  clientFrame,
  connectWs,
  nextJson,
  rawUpgrade,
  readTextFrames,
  until,
  type RawClient,
} from './support/ws';

type Message = { event: string; data: any };

function config(ws: Partial<SampleConfig['ws']> = {}): SampleConfig {
  return sampleConfig({
    logLevel: 'error',
    spamScanner: { latencyMs: 0 },
    ws: { heartbeatIntervalMs: 60_000, ...ws },
  });
}

async function start(adapter: AdapterName, cfg: SampleConfig): Promise<TestApp> {
  return createTestApp(adapter, AppModule.forRoot(cfg), {
    bodyLimit: cfg.maxBodyBytes,
    configure: (app) => useSampleWebSocketAdapter(app, cfg),
  });
}

const mail = (to: string[], subject = 'hi') => ({
  from: 'alice@example.com',
  to,
  subject,
  body: 'hello',
});

describe.each(ADAPTERS)('sample: new-mail notifications over WebSocket (%s)', (adapter) => {
  let t: TestApp | undefined;
  const clients: WebSocket[] = [];
  const raws: RawClient[] = [];

  afterEach(async () => {
    for (const c of clients.splice(0)) c.terminate();
    for (const r of raws.splice(0)) r.destroy();
    await t?.close();
    t = undefined;
  });

  async function subscriber(...mailboxes: string[]): Promise<{ ws: WebSocket; mails: Message[] }> {
    const ws = await connectWs(t!.port, '/notifications');
    clients.push(ws);
    const mails: Message[] = [];
    for (const mailbox of mailboxes) {
      const reply = nextJson<Message>(ws, (m) => m.event !== 'mail');
      ws.send(JSON.stringify({ event: 'subscribe', data: { mailbox } }));
      expect(await reply).toEqual({
        event: 'subscribed',
        data: { mailbox: mailbox.toLowerCase() },
      });
    }
    ws.on('message', (d: WebSocket.RawData) => {
      const m = JSON.parse(d.toString()) as Message;
      if (m.event === 'mail') mails.push(m);
    });
    return { ws, mails };
  }

  it('pushes a stored mail to the subscribers of its recipients, and only to them', async () => {
    t = await start(adapter, config());
    const bob = await subscriber('Bob@Example.com');
    const bob2 = await subscriber('bob@example.com');
    const carol = await subscriber('carol@example.com');
    const both = await subscriber('bob@example.com', 'carol@example.com');

    const res = await request(t.url)
      .post('/mails')
      .send(mail(['bob@example.com'], 'for bob'));
    expect(res.status).toBe(201);
    await until(() => bob.mails.length === 1 && bob2.mails.length === 1 && both.mails.length === 1);
    expect(bob.mails[0]).toEqual({
      event: 'mail',
      data: {
        mailbox: 'bob@example.com',
        mail: {
          id: res.body.id,
          from: 'alice@example.com',
          subject: 'for bob',
          receivedAt: res.body.receivedAt,
          spam: false,
          size: res.body.size,
        },
      },
    });

    const second = await request(t.url)
      .post('/mails')
      .send(mail(['carol@example.com', 'bob@example.com'], 'for both'));
    expect(second.status).toBe(201);
    await until(
      () => carol.mails.length === 1 && both.mails.length === 3 && bob.mails.length === 2,
    );
    expect(carol.mails.map((m) => m.data.mail.subject)).toEqual(['for both']); // never saw bob's first
    expect(both.mails.map((m) => `${m.data.mailbox}:${m.data.mail.subject}`).sort()).toEqual([
      'bob@example.com:for bob',
      'bob@example.com:for both',
      'carol@example.com:for both',
    ]);
  });

  it('answers bad subscriptions with an error event and stops after unsubscribe or disconnect', async () => {
    t = await start(adapter, config());
    const gateway = t.app.get(NotificationsGateway);
    const ws = await connectWs(t.port, '/notifications');
    clients.push(ws);
    const ask = async (event: string, data: unknown) => {
      const reply = nextJson<Message>(ws, (m) => m.event !== 'mail');
      ws.send(JSON.stringify({ event, data }));
      return reply;
    };
    expect(await ask('subscribe', { mailbox: 'not an address' })).toEqual({
      event: 'error',
      data: { message: 'subscribe needs { "mailbox": "<email address>" }' },
    });
    expect((await ask('subscribe', 'bob@example.com')).event).toBe('error');
    for (let i = 0; i < MAX_SUBSCRIPTIONS_PER_CLIENT; i++) {
      expect((await ask('subscribe', { mailbox: `u${i}@example.com` })).event).toBe('subscribed');
    }
    expect(await ask('subscribe', { mailbox: 'one-more@example.com' })).toEqual({
      event: 'error',
      data: { message: `at most ${MAX_SUBSCRIPTIONS_PER_CLIENT} mailboxes per connection` },
    });
    expect(await ask('unsubscribe', { mailbox: 'u0@example.com' })).toEqual({
      event: 'unsubscribed',
      data: { mailbox: 'u0@example.com' },
    });
    expect(gateway.subscriberCount('u0@example.com')).toBe(0);
    expect(gateway.subscriberCount('u1@example.com')).toBe(1);
    ws.terminate();
    await until(() => gateway.subscriberCount('u1@example.com') === 0, 2_000, 'cleaned up');
    // the server keeps serving
    const other = await subscriber('u1@example.com');
    await request(t.url)
      .post('/mails')
      .send(mail(['u1@example.com']))
      .expect(201);
    await until(() => other.mails.length === 1);
  });

  it('a lagging client gets the newest mail per mailbox; a fast one gets every mail', async () => {
    t = await start(adapter, config({ slowConsumerTimeoutMs: 30_000 }));
    const events = t.app.get(MailEvents);
    const service = t.app.get(WsBackpressureService);
    const fast = await subscriber('bob@example.com', 'carol@example.com');
    const raw = await rawUpgrade(t.port, '/notifications');
    raws.push(raw);
    for (const mailbox of ['bob@example.com', 'carol@example.com']) {
      raw.socket.write(clientFrame(0x1, JSON.stringify({ event: 'subscribe', data: { mailbox } })));
      await readTextFrames(raw, (text) => text.includes('"subscribed"'));
    }
    raw.socket.pause(); // stops reading: the kernel fills, then the server's buffer
    let unwritable = false;
    const sub = service.writability$.subscribe((c) => (unwritable ||= !c.writable));
    // the fields the gateway reads; the rest of a stored Mail does not matter here
    const stored = (id: string, to: string, subject = id): Mail =>
      ({
        id,
        from: 'alice@example.com',
        to: [to],
        subject,
        body: '',
        receivedAt: new Date().toISOString(),
        spam: false,
        size: subject.length,
      }) as Mail;
    const big = 'f'.repeat(16 * 1024);
    let filled = 0;
    // 16 KiB notifications in batches, yielding between them so the fast subscriber keeps reading
    while (filled < 4000 && !unwritable) {
      for (let i = 0; i < 8 && !unwritable; i++, filled++) {
        events.mailStored(stored(`fill-${filled}`, 'bob@example.com', big));
      }
      await new Promise((r) => setImmediate(r));
    }
    sub.unsubscribe();
    expect(unwritable).toBe(true);
    for (const id of ['b1', 'b2', 'b3']) events.mailStored(stored(id, 'bob@example.com'));
    for (const id of ['c1', 'c2']) events.mailStored(stored(id, 'carol@example.com'));
    events.mailStored(stored('b4', 'bob@example.com'));
    expect(service.counts().coalesced).toBe(4);

    const writableAgain = firstValueFrom(service.writability$.pipe(filter((c) => c.writable)));
    const reading = readTextFrames(
      raw,
      (text) => text.includes('"id":"end"'),
      (text) => !text.includes('"id":"fill-'),
      20_000,
    );
    await writableAgain;
    events.mailStored(stored('end', 'bob@example.com'));
    const tail = (await reading).map((s) => (JSON.parse(s) as Message).data.mail.id);
    expect(tail).toEqual(['b4', 'c2', 'end']);
    await until(() => fast.mails.length === filled + 6 + 1, 10_000, 'fast subscriber got all');
    const ids = fast.mails.map((m) => m.data.mail.id as string);
    expect(ids.slice(0, filled).every((id, i) => id === `fill-${i}`)).toBe(true);
    expect(ids.slice(filled)).toEqual(['b1', 'b2', 'b3', 'c1', 'c2', 'b4', 'end']);
  }, 60_000);

  it('also delivers with WS_BACKPRESSURE=false (Nest’s plain WsAdapter)', async () => {
    t = await start(adapter, config({ backpressure: false }));
    const bob = await subscriber('bob@example.com');
    await request(t.url)
      .post('/mails')
      .send(mail(['bob@example.com']))
      .expect(201);
    await until(() => bob.mails.length === 1);
    expect(t.app.get(WsBackpressureService).stats().clients).toBe(0); // nobody is guarded
  });
});
