import { Inject, Injectable } from '@nestjs/common';
import { randomBytes, randomUUID } from 'node:crypto';
import { SAMPLE_CONFIG, type SampleConfig } from '../sample.config';
import type { Mail, MailChanges, MailPage, MailSummary } from './mail.interface';

interface Mailbox {
  ids: Set<string>;
  version: number;
}

/**
 * In-memory mail store, bounded: above `maxMails` the oldest mails are dropped, so a load test cannot grow it
 * without limit. Each recipient's mailbox keeps its mail ids in arrival order and a version that changes
 * whenever the mailbox does; each mail has a version that changes whenever it does.
 */
@Injectable()
export class MailRepository {
  /**
   * Versions restart at 1 with the process: this random generation goes into every ETag, so a tag cached before
   * a restart never matches a different mailbox that happens to have the same version now.
   */
  readonly generation = randomBytes(4).toString('hex');
  private readonly mails = new Map<string, Mail>();
  private readonly mailboxes = new Map<string, Mailbox>();

  constructor(@Inject(SAMPLE_CONFIG) private readonly config: SampleConfig) {}

  get size(): number {
    return this.mails.size;
  }

  save(input: Omit<Mail, 'id' | 'receivedAt' | 'read' | 'folder' | 'version' | 'updatedAt'>): Mail {
    const receivedAt = new Date().toISOString();
    const mail: Mail = {
      id: randomUUID(),
      receivedAt,
      ...input,
      read: false,
      folder: input.spam ? 'spam' : 'inbox',
      version: 1,
      updatedAt: receivedAt,
    };
    this.mails.set(mail.id, mail);
    for (const user of new Set(mail.to.map(normalise))) {
      const box = this.mailboxes.get(user) ?? { ids: new Set<string>(), version: 0 };
      box.ids.add(mail.id);
      box.version++;
      this.mailboxes.set(user, box);
    }
    while (this.mails.size > this.config.maxMails) this.evictOldest();
    return mail;
  }

  findById(id: string): Mail | undefined {
    return this.mails.get(id);
  }

  /**
   * Applies `changes` to a mail: its version goes up, and so does the version of every mailbox listing it (its
   * summary there changed). Returns `undefined` when the mail does not exist.
   */
  update(id: string, changes: MailChanges): Mail | undefined {
    const mail = this.mails.get(id);
    if (!mail) return undefined;
    if (changes.read !== undefined) mail.read = changes.read;
    if (changes.folder !== undefined) mail.folder = changes.folder;
    mail.version++;
    mail.updatedAt = new Date().toISOString();
    for (const user of new Set(mail.to.map(normalise))) {
      const box = this.mailboxes.get(user);
      if (box) box.version++;
    }
    return mail;
  }

  /** The version of a user's mailbox, or `undefined` when it holds no mail. */
  mailboxVersion(user: string): number | undefined {
    return this.mailboxes.get(normalise(user))?.version;
  }

  /** Newest first. */
  list(user: string, page: number, pageSize: number): MailPage {
    const key = normalise(user);
    const box = this.mailboxes.get(key);
    const ids = box ? [...box.ids] : [];
    const total = ids.length;
    const end = total - (page - 1) * pageSize;
    const start = Math.max(0, end - pageSize);
    const items: MailSummary[] = [];
    for (let i = end - 1; i >= start; i--) {
      const { body: _body, ...summary } = this.mails.get(ids[i])!;
      items.push(summary);
    }
    return { user: key, page, pageSize, total, version: box?.version ?? 0, items };
  }

  private evictOldest(): void {
    const oldest = this.mails.keys().next();
    if (oldest.done) return;
    const mail = this.mails.get(oldest.value)!;
    this.mails.delete(mail.id);
    for (const user of new Set(mail.to.map(normalise))) {
      const box = this.mailboxes.get(user);
      if (!box) continue;
      box.ids.delete(mail.id);
      box.version++;
      if (box.ids.size === 0) this.mailboxes.delete(user);
    }
  }
}

function normalise(address: string): string {
  return address.trim().toLowerCase();
}
