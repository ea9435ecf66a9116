import { Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { DownstreamErrorFilter } from './downstream-error.filter';
import { MailEvents } from './mail-events';
import { MailController } from './mail.controller';
import { MailRepository } from './mail.repository';
import { MailService } from './mail.service';
import { MailboxController } from './mailbox.controller';
import { SpamScannerService } from './spam-scanner.service';

@Module({
  controllers: [MailController, MailboxController],
  providers: [
    MailRepository,
    MailService,
    MailEvents,
    SpamScannerService,
    { provide: APP_FILTER, useClass: DownstreamErrorFilter },
  ],
  exports: [MailService, MailEvents, SpamScannerService],
})
export class MailModule {}
