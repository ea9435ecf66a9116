import { InFlightTracker } from '@steady/core';
import request from 'supertest';
import { AppModule } from '../apps/sample/src/app.module';
import { sampleConfig, type SampleConfig } from '../apps/sample/src/sample.config';
import { ADAPTERS, createTestApp, type AdapterName, type TestApp } from './support/nest-app';

const mail = (overrides: Record<string, unknown> = {}) => ({
  from: 'alice@example.com',
  to: ['bob@example.com'],
  subject: 'Lunch?',
  body: 'At noon.',
  ...overrides,
});

/**
 * The sample with its defaults, except the event-loop shedding controller: the test client shares the server's
 * event loop and CI runs suites in parallel, so ELU here says nothing about the app (the bench measures it).
 */
function startSample(adapter: AdapterName, config: SampleConfig): Promise<TestApp> {
  const cfg = { ...config, shedding: { ...config.shedding, eventLoop: false } };
  return createTestApp(adapter, AppModule.forRoot(cfg), { bodyLimit: cfg.maxBodyBytes });
}

describe.each(ADAPTERS)('sample mail service (%s)', (adapter) => {
  describe('routes', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startSample(
        adapter,
        sampleConfig({ maxBodyBytes: 16 * 1024, spamScanner: { latencyMs: 1 } }),
      );
    });
    afterAll(() => t?.close());

    it('POST /mails stores a scanned mail; GET /mails/:id returns it', async () => {
      const created = await request(t.url).post('/mails').send(mail()).expect(201);
      expect(created.body).toMatchObject({ ...mail(), spam: false, size: 14 });
      expect(created.body.id).toMatch(/^[0-9a-f-]{36}$/);
      const fetched = await request(t.url).get(`/mails/${created.body.id}`).expect(200);
      expect(fetched.body).toEqual(created.body);
    });

    it('flags spam through the scanner', async () => {
      const res = await request(t.url)
        .post('/mails')
        .send(mail({ subject: 'You won the LOTTERY' }))
        .expect(201);
      expect(res.body.spam).toBe(true);
    });

    it('GET /mails/:id answers 404 when absent and 400 for a malformed id', async () => {
      const missing = await request(t.url)
        .get('/mails/3b241101-e2bb-4255-8caf-4136c566a962')
        .expect(404);
      expect(missing.body).toMatchObject({
        statusCode: 404,
        message: 'mail 3b241101-e2bb-4255-8caf-4136c566a962 not found',
      });
      await request(t.url).get('/mails/not-a-uuid').expect(400);
    });

    it.each([
      ['a bad sender', mail({ from: 'alice' }), 'from must be an email address'],
      ['no recipients', mail({ to: [] }), 'to must contain at least 1 elements'],
      [
        'a bad recipient',
        mail({ to: ['bob@example.com', 'x'] }),
        'each address in to must be an email address',
      ],
      ['a non-string subject', mail({ subject: 42 }), 'subject must be a string'],
      [
        'a missing body',
        { from: 'a@example.com', to: ['b@example.com'], subject: 's' },
        'body must be a string',
      ],
      ['an unknown field', mail({ priority: 'high' }), 'property priority should not exist'],
    ])('POST /mails answers 400 for %s', async (_name, body, message) => {
      const res = await request(t.url).post('/mails').send(body).expect(400);
      expect(res.body.message).toContain(message);
    });

    it('POST /mails answers 400 for malformed JSON', async () => {
      const res = await request(t.url)
        .post('/mails')
        .set('content-type', 'application/json')
        .send('{"from": "a@example.com",')
        .expect(400);
      expect(res.body.statusCode).toBe(400);
    });

    it('POST /mails answers 413 above the body limit, with a JSON body', async () => {
      const res = await request(t.url)
        .post('/mails')
        .send(mail({ body: 'x'.repeat(20 * 1024) }))
        .expect(413);
      expect(res.headers['content-type']).toMatch(/application\/json/);
      expect(res.body.statusCode).toBe(413);
    });

    it('GET /mailboxes/:user/mails pages newest first and validates its input', async () => {
      const user = `pager-${adapter}@example.com`;
      for (const subject of ['one', 'two', 'three']) {
        await request(t.url)
          .post('/mails')
          .send(mail({ to: [user], subject }))
          .expect(201);
      }
      const page1 = await request(t.url).get(`/mailboxes/${user}/mails?pageSize=2`).expect(200);
      expect(page1.body).toMatchObject({ user, page: 1, pageSize: 2, total: 3, version: 3 });
      expect(page1.body.items.map((m: { subject: string }) => m.subject)).toEqual(['three', 'two']);
      expect(page1.body.items[0]).not.toHaveProperty('body');
      const page2 = await request(t.url)
        .get(`/mailboxes/${user}/mails?page=2&pageSize=2`)
        .expect(200);
      expect(page2.body.items.map((m: { subject: string }) => m.subject)).toEqual(['one']);
      const empty = await request(t.url).get('/mailboxes/nobody@example.com/mails').expect(200);
      expect(empty.body).toMatchObject({ total: 0, items: [] });
      await request(t.url).get(`/mailboxes/${user}/mails?pageSize=101`).expect(400);
      await request(t.url).get(`/mailboxes/${user}/mails?page=0`).expect(400);
      await request(t.url).get(`/mailboxes/${user}/mails?page=abc`).expect(400);
      await request(t.url).get('/mailboxes/not-an-address/mails').expect(400);
    });

    it('serves /metrics with the sample and core metrics', async () => {
      const res = await request(t.url).get('/metrics').expect(200);
      expect(res.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
      expect(res.text).toMatch(
        /steady_sample_mails_received_total\{verdict="clean",service="steady-sample"\} [1-9]/,
      );
      expect(res.text).toContain('steady_in_flight_requests{service="steady-sample"} 1');
      expect(res.text).toContain('steady_sample_spam_scanner_pool_size{service="steady-sample"} 8');
    });
  });

  describe('slow spam scanner behind a bounded pool', () => {
    it('queues beyond the pool, answers 503 with Retry-After when the queue is full', async () => {
      const t = await startSample(
        adapter,
        sampleConfig({
          spamScanner: { poolSize: 1, queueLimit: 1, latencyMs: 300, timeoutMs: 5_000 },
        }),
      );
      try {
        const tracker = t.app.get(InFlightTracker);
        const first = request(t.url)
          .post('/mails')
          .send(mail())
          .then((r) => r.status);
        const second = request(t.url)
          .post('/mails')
          .send(mail())
          .then((r) => r.status);
        const deadline = Date.now() + 3_000;
        while (tracker.inFlight < 2 && Date.now() < deadline)
          await new Promise((r) => setTimeout(r, 5));
        await new Promise((r) => setTimeout(r, 30)); // both bodies parsed and in the pool
        const third = await request(t.url).post('/mails').send(mail()).expect(503);
        expect(third.headers['retry-after']).toBe('1');
        expect(third.body).toMatchObject({
          statusCode: 503,
          message: 'spam scanner is saturated, retry later',
        });
        expect(await Promise.all([first, second])).toEqual([201, 201]);
      } finally {
        await t.close();
      }
    });

    it('sheds POST /mails with 429 once the slow scanner fills the in-flight limit; reads still answer', async () => {
      const t = await startSample(
        adapter,
        sampleConfig({
          shedding: { maxInFlight: 4, eventLoop: false },
          spamScanner: { poolSize: 2, queueLimit: 100, latencyMs: 400, timeoutMs: 5_000 },
        }),
      );
      try {
        const tracker = t.app.get(InFlightTracker);
        const created = await request(t.url).post('/mails').send(mail()).expect(201);
        const slow = Array.from({ length: 4 }, () =>
          request(t.url)
            .post('/mails')
            .send(mail())
            .then((r) => r.status),
        );
        const deadline = Date.now() + 3_000;
        while (tracker.inFlight < 4 && Date.now() < deadline)
          await new Promise((r) => setTimeout(r, 5));
        const shed = await request(t.url).post('/mails').send(mail()).expect(429);
        expect(shed.headers['retry-after']).toMatch(/^\d+$/);
        expect(shed.body).toMatchObject({ statusCode: 429, reason: 'in_flight' });
        await request(t.url).get('/metrics').expect(200); // ops endpoints are never shed
        expect(await Promise.all(slow)).toEqual([201, 201, 201, 201]);
        await request(t.url).get(`/mails/${created.body.id}`).expect(200); // calm again
      } finally {
        await t.close();
      }
    });

    it('answers 504 when no pool slot frees up in time', async () => {
      const t = await startSample(
        adapter,
        sampleConfig({
          spamScanner: { poolSize: 1, queueLimit: 10, latencyMs: 400, timeoutMs: 50 },
        }),
      );
      try {
        const first = request(t.url)
          .post('/mails')
          .send(mail())
          .then((r) => r.status);
        await new Promise((r) => setTimeout(r, 50));
        const second = await request(t.url).post('/mails').send(mail()).expect(504);
        expect(second.body).toMatchObject({ statusCode: 504 });
        expect(await first).toBe(201);
      } finally {
        await t.close();
      }
    });
  });
});
