import { Inject, Injectable, NotFoundException, Optional } from '@nestjs/common';
import { MetricsSink, type SteadyCounter } from '@steady/core';
import type { CreateMailDto } from './create-mail.dto';
import type { Mail, MailPage } from './mail.interface';
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
}
