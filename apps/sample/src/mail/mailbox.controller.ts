import { Controller, Get, Param, Query } from '@nestjs/common';
import { ETag } from '@steady/etag';
import { ListMailsQuery } from './list-mails.query';
import { mailboxTag } from './mail-etag.resolvers';
import type { MailPage } from './mail.interface';
import { MailboxParams } from './mailbox.params';
import { MailService } from './mail.service';

@Controller('mailboxes')
export class MailboxController {
  constructor(private readonly mails: MailService) {}

  /**
   * A page of the mailbox, newest first: `?page=1&pageSize=20` (pageSize 1..100). Deep ETag from the mailbox
   * version, so polling an unchanged mailbox costs a 304 and no listing is built.
   */
  @Get(':user/mails')
  @ETag(mailboxTag)
  list(@Param() params: MailboxParams, @Query() query: ListMailsQuery): MailPage {
    return this.mails.list(params.user, query.page, query.pageSize);
  }
}
