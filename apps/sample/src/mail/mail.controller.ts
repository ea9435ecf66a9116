import { Body, Controller, Get, HttpCode, Param, ParseUUIDPipe, Patch, Post } from '@nestjs/common';
import { ETag, LastModified } from '@steady/etag';
import { CreateMailDto } from './create-mail.dto';
import { mailTag, mailUpdatedAt } from './mail-etag.resolvers';
import type { Mail } from './mail.interface';
import { MailService } from './mail.service';
import { UpdateMailDto } from './update-mail.dto';

@Controller('mails')
export class MailController {
  constructor(private readonly mails: MailService) {}

  /** Scans the mail on the (bounded, possibly slow) spam scanner, stores it, answers 201. */
  @Post()
  @HttpCode(201)
  create(@Body() dto: CreateMailDto): Promise<Mail> {
    return this.mails.receive(dto);
  }

  /**
   * 404 when absent; 400 when the id is not a UUID. Deep ETag from the mail's version: a revalidation of an
   * unchanged mail gets its 304 without the handler running.
   */
  @Get(':id')
  @ETag(mailTag)
  @LastModified(mailUpdatedAt)
  get(@Param('id', new ParseUUIDPipe({ version: '4' })) id: string): Mail {
    return this.mails.get(id);
  }

  /**
   * Marks the mail read/unread and/or moves it. The write must carry `If-Match` with the ETag the client last
   * read: 428 without it, 412 when the mail changed since (the client re-reads, then decides), 200 with the
   * mail and its new ETag otherwise.
   */
  @Patch(':id')
  @ETag(mailTag, { requireIfMatch: true })
  update(
    @Param('id', new ParseUUIDPipe({ version: '4' })) id: string,
    @Body() dto: UpdateMailDto,
  ): Mail {
    return this.mails.update(id, dto);
  }
}
