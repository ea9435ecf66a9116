import { Controller, Get, Param, Query } from '@nestjs/common';
import { ListMailsQuery } from './list-mails.query';
import type { MailPage } from './mail.interface';
import { MailboxParams } from './mailbox.params';
import { MailService } from './mail.service';

@Controller('mailboxes')
export class MailboxController {
  constructor(private readonly mails: MailService) {}

  /** A page of the mailbox, newest first: `?page=1&pageSize=20` (pageSize 1..100). */
  @Get(':user/mails')
  list(@Param() params: MailboxParams, @Query() query: ListMailsQuery): MailPage {
    return this.mails.list(params.user, query.page, query.pageSize);
  }
}
