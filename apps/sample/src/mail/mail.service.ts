import { Inject, Injectable, NotFoundException, Optional } from '@nestjs/common';
import { MetricsSink, type SteadyCounter } from '@steady/core';
import type { CreateMailDto } from './create-mail.dto';
import type { Mail, MailChanges, MailPage } from './mail.interface';
import { MailRepository } from './mail.repository';
import { MailEvents } from './mail-events';
import { SpamScannerService } from './spam-scanner.service';

@Injectable()
export class MailService {
  private readonly received?: SteadyCounter;

  constructor(
    private readonly repository: MailRepository,
    private readonly scanner: SpamScannerService,
    private readonly events: MailEvents,
    @Optional() @Inject(MetricsSink) metrics?: MetricsSink,
  ) {
    this.received = metrics?.counter({
      name: 'sample_mails_received_total',
      help: 'Mails accepted by POST /mails, by spam verdict',
      labelNames: ['verdict'],
    });
  }

  async receive(dto: CreateMailDto): Promise<Mail> {
    const { spam } = await this.scanner.scan(dto.subject, dto.body);
    const mail = this.repository.save({
      from: dto.from,
      to: dto.to,
      subject: dto.subject,
      body: dto.body,
      spam,
      size: Buffer.byteLength(dto.subject) + Buffer.byteLength(dto.body),
    });
    this.received?.inc({ verdict: spam ? 'spam' : 'clean' });
    this.events.mailStored(mail); // the notification gateway tells the recipients' subscribers
    return mail;
  }

  get(id: string): Mail {
    const mail = this.repository.findById(id);
    if (!mail) throw new NotFoundException(`mail ${id} not found`);
    return mail;
  }

  list(user: string, page: number, pageSize: number): MailPage {
    return this.repository.list(user, page, pageSize);
  }

  /** Marks a mail read/unread or moves it to a folder; 404 when absent. */
  update(id: string, changes: MailChanges): Mail {
    const mail = this.repository.update(id, changes);
    if (!mail) throw new NotFoundException(`mail ${id} not found`);
    return mail;
  }

  /** The deep ETag value of `GET /mails/:id`: generation and mail version; `undefined` when absent. */
  mailTag(id: string): string | undefined {
    const mail = this.repository.findById(id);
    return mail ? `${this.repository.generation}.${mail.version}` : undefined;
  }

  /** `Last-Modified` of `GET /mails/:id`. */
  mailUpdatedAt(id: string): string | undefined {
    return this.repository.findById(id)?.updatedAt;
  }

  /**
   * The deep ETag value of a mailbox page: generation and mailbox version, the same for every page (a tag is
   * only compared with the tags of the same URL). `undefined` when the mailbox holds no mail.
   */
  mailboxTag(user: string): string | undefined {
    const version = this.repository.mailboxVersion(user);
    return version === undefined ? undefined : `${this.repository.generation}.${version}`;
  }
}
