import { sampleConfig } from '../sample.config';
import { MailRepository } from './mail.repository';

const mail = (to: string[], subject = 's') => ({
  from: 'a@example.com',
  to,
  subject,
  body: 'b',
  spam: false,
  size: 2,
});

describe('MailRepository', () => {
  it('lists a mailbox newest first, in pages, case-insensitively', () => {
    const repo = new MailRepository(sampleConfig());
    for (let i = 1; i <= 5; i++) repo.save(mail(['Bob@Example.com'], `m${i}`));
    const first = repo.list('bob@example.com', 1, 2);
    expect(first.items.map((m) => m.subject)).toEqual(['m5', 'm4']);
    expect(first).toMatchObject({ total: 5, page: 1, pageSize: 2, version: 5 });
    expect(first.items[0]).not.toHaveProperty('body');
    expect(repo.list('BOB@example.com', 3, 2).items.map((m) => m.subject)).toEqual(['m1']);
    expect(repo.list('bob@example.com', 4, 2).items).toEqual([]);
    expect(repo.list('nobody@example.com', 1, 2)).toMatchObject({
      total: 0,
      version: 0,
      items: [],
    });
  });

  it('stores one copy for duplicate recipients and finds it by id', () => {
    const repo = new MailRepository(sampleConfig());
    const saved = repo.save(mail(['x@example.com', 'X@example.com', 'y@example.com']));
    expect(repo.findById(saved.id)).toBe(saved);
    expect(repo.list('x@example.com', 1, 10).total).toBe(1);
    expect(repo.list('y@example.com', 1, 10).total).toBe(1);
  });

  it('drops the oldest mails above maxMails, from their mailboxes too', () => {
    const repo = new MailRepository(sampleConfig({ maxMails: 3 }));
    const first = repo.save(mail(['x@example.com'], 'old'));
    for (let i = 0; i < 3; i++) repo.save(mail(['x@example.com']));
    expect(repo.size).toBe(3);
    expect(repo.findById(first.id)).toBeUndefined();
    const page = repo.list('x@example.com', 1, 10);
    expect(page.total).toBe(3);
    expect(page.version).toBe(5); // 4 arrivals + 1 eviction
  });

  it('updates a mail: its version and every listing mailbox version go up', () => {
    const repo = new MailRepository(sampleConfig());
    const saved = repo.save(mail(['x@example.com', 'Y@example.com']));
    expect(saved).toMatchObject({ read: false, folder: 'inbox', version: 1 });
    expect(repo.mailboxVersion('X@Example.com')).toBe(1);
    const updated = repo.update(saved.id, { read: true, folder: 'archive' });
    expect(updated).toMatchObject({ read: true, folder: 'archive', version: 2 });
    expect(repo.mailboxVersion('x@example.com')).toBe(2);
    expect(repo.mailboxVersion('y@example.com')).toBe(2);
    expect(repo.list('x@example.com', 1, 10).items[0]).toMatchObject({
      read: true,
      folder: 'archive',
    });
    expect(repo.update('missing', { read: true })).toBeUndefined();
    expect(repo.mailboxVersion('nobody@example.com')).toBeUndefined();
    expect(repo.save({ ...mail(['z@example.com']), spam: true }).folder).toBe('spam');
    expect(repo.generation).toMatch(/^[0-9a-f]{8}$/);
  });
});
