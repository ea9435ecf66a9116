import { MailService } from '../apps/sample/src/mail/mail.service';
import { AppModule } from '../apps/sample/src/app.module';
import { sampleConfig } from '../apps/sample/src/sample.config';
import { request } from 'undici';
import { ADAPTERS, createTestApp, type TestApp } from './support/nest-app';

const mail = (to: string, subject = 'hi') => ({
  from: 'alice@example.com',
  to: [to],
  subject,
  body: 'hello',
});

/** The sample's conditional requests: deep ETags from mail / mailbox versions, If-Match on PATCH /mails/:id. */
describe.each(ADAPTERS)('sample mail service, conditional requests (%s)', (adapter) => {
  let t: TestApp;
  let service: MailService;
  beforeAll(async () => {
    const config = sampleConfig({ spamScanner: { latencyMs: 0 } });
    const cfg = { ...config, shedding: { ...config.shedding, eventLoop: false } };
    t = await createTestApp(adapter, AppModule.forRoot(cfg), { bodyLimit: cfg.maxBodyBytes });
    service = t.app.get(MailService);
  });
  afterAll(() => t?.close());
  afterEach(() => vi.restoreAllMocks());

  const send = async (
    method: string,
    path: string,
    headers: Record<string, string> = {},
    body?: unknown,
  ) => {
    const res = await request(`${t.url}${path}`, {
      method: method as 'GET',
      headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.body.text();
    return {
      status: res.statusCode,
      headers: res.headers,
      json: text ? JSON.parse(text) : undefined,
    };
  };

  it('GET /mails/:id: deep ETag and Last-Modified; a revalidation is a 304 that never reaches the handler', async () => {
    const created = await send('POST', '/mails', {}, mail('etag-reader@example.com'));
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ read: false, folder: 'inbox', version: 1 });
    const id = created.json.id as string;
    const first = await send('GET', `/mails/${id}`);
    expect(first.headers.etag).toMatch(/^"[0-9a-f]{8}\.1"$/);
    expect(first.headers['last-modified']).toBe(new Date(created.json.updatedAt).toUTCString());
    expect(first.headers['cache-control']).toBe('private, must-revalidate, max-age=0');
    const get = vi.spyOn(service, 'get');
    const again = await send('GET', `/mails/${id}`, {
      'if-none-match': first.headers.etag as string,
    });
    expect(again.status).toBe(304);
    const viaFetch = await fetch(`${t.url}/mails/${id}`, {
      headers: { 'if-none-match': first.headers.etag as string },
    });
    expect(viaFetch.status).toBe(304); // despite fetch's Cache-Control: no-cache
    expect(get).not.toHaveBeenCalled();
    // the pipes still answer bad input: the resolver gives no validator for a malformed id
    expect((await send('GET', '/mails/not-a-uuid', { 'if-none-match': '*' })).status).toBe(400);
    expect(
      (await send('GET', '/mails/3b241101-e2bb-4255-8caf-4136c566a962', { 'if-none-match': '*' }))
        .status,
    ).toBe(404);
  });

  it('PATCH /mails/:id requires If-Match: 428 without, 412 when stale, 200 with the new ETag', async () => {
    const created = await send('POST', '/mails', {}, mail('etag-writer@example.com'));
    const id = created.json.id as string;
    const tag = (await send('GET', `/mails/${id}`)).headers.etag as string;
    const update = vi.spyOn(service, 'update');

    const required = await send('PATCH', `/mails/${id}`, {}, { read: true });
    expect(required.status).toBe(428);
    const stale = await send(
      'PATCH',
      `/mails/${id}`,
      { 'if-match': tag.replace('.1"', '.0"') },
      { read: true },
    );
    expect(stale.status).toBe(412);
    expect(stale.headers.etag).toBe(tag);
    // preconditions come before the body is processed: a stale write with a bad body is still a 412
    expect(
      (await send('PATCH', `/mails/${id}`, { 'if-match': '"nope"' }, { folder: 'nowhere' })).status,
    ).toBe(412);
    expect(update).not.toHaveBeenCalled();

    expect(
      (await send('PATCH', `/mails/${id}`, { 'if-match': tag }, { folder: 'nowhere' })).status,
    ).toBe(400);
    const ok = await send(
      'PATCH',
      `/mails/${id}`,
      { 'if-match': tag },
      { read: true, folder: 'archive' },
    );
    expect(ok.status).toBe(200);
    expect(ok.json).toMatchObject({ id, read: true, folder: 'archive', version: 2 });
    expect(ok.headers.etag).toBe(tag.replace('.1"', '.2"'));
    // a second client still holding the old tag is refused instead of overwriting the move
    expect(
      (await send('PATCH', `/mails/${id}`, { 'if-match': tag }, { folder: 'trash' })).status,
    ).toBe(412);
    const now = await send('GET', `/mails/${id}`, { 'if-none-match': tag });
    expect(now.status).toBe(200);
    expect(now.json.folder).toBe('archive');
    expect(
      (await send('PATCH', '/mails/3b241101-e2bb-4255-8caf-4136c566a962', {}, { read: true }))
        .status,
    ).toBe(404);
  });

  it('GET /mailboxes/:user/mails: 304 while the mailbox is unchanged; a new mail or a change gives a new ETag', async () => {
    const user = `etag-box-${adapter}@example.com`;
    const created = await send('POST', '/mails', {}, mail(user, 'one'));
    const path = `/mailboxes/${user}/mails?pageSize=10`;
    const first = await send('GET', path);
    expect(first.status).toBe(200);
    expect(first.headers.etag).toMatch(/^"[0-9a-f]{8}\.1"$/);
    const list = vi.spyOn(service, 'list');
    expect(
      (await send('GET', path, { 'if-none-match': first.headers.etag as string })).status,
    ).toBe(304);
    expect(list).not.toHaveBeenCalled();
    // input the pipes reject is rejected, not answered with 304
    expect(
      (await send('GET', `/mailboxes/${user}/mails?pageSize=101`, { 'if-none-match': '*' })).status,
    ).toBe(400);
    expect(
      (await send('GET', `/mailboxes/${user}/mails?bogus=1`, { 'if-none-match': '*' })).status,
    ).toBe(400);

    const mailTag = (await send('GET', `/mails/${created.json.id}`)).headers.etag as string;
    await send('PATCH', `/mails/${created.json.id}`, { 'if-match': mailTag }, { read: true });
    const afterRead = await send('GET', path, { 'if-none-match': first.headers.etag as string });
    expect(afterRead.status).toBe(200);
    expect(afterRead.json.items[0].read).toBe(true);
    await send('POST', '/mails', {}, mail(user, 'two'));
    const afterNew = await send('GET', path, { 'if-none-match': afterRead.headers.etag as string });
    expect(afterNew.status).toBe(200);
    expect(afterNew.json.total).toBe(2);
    expect(afterNew.headers.etag).not.toBe(afterRead.headers.etag);
  });

  it('an empty mailbox has no deep tag but still a shallow one', async () => {
    const res = await send('GET', '/mailboxes/nobody-etag@example.com/mails');
    expect(res.status).toBe(200);
    expect(res.headers.etag).toMatch(/^W\/"/);
    expect(
      (
        await send('GET', '/mailboxes/nobody-etag@example.com/mails', {
          'if-none-match': res.headers.etag as string,
        })
      ).status,
    ).toBe(304);
  });

  it('exposes steady_etag_* metrics', async () => {
    const text = await (await fetch(`${t.url}/metrics`)).text();
    expect(text).toMatch(
      /steady_etag_not_modified_responses_total\{kind="deep",service="steady-sample"\} [1-9]/,
    );
    expect(text).toMatch(
      /steady_etag_precondition_required_responses_total\{service="steady-sample"\} [1-9]/,
    );
  });
});
