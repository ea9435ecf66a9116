import { Body, Controller, Get, HttpCode, Param, ParseUUIDPipe, Post } from '@nestjs/common';
import { CreateMailDto } from './create-mail.dto';
import type { Mail } from './mail.interface';
import { MailService } from './mail.service';

@Controller('mails')
export class MailController {
  constructor(private readonly mails: MailService) {}

  /** Scans the mail on the (bounded, possibly slow) spam scanner, stores it, answers 201. */
  @Post()
  @HttpCode(201)
  create(@Body() dto: CreateMailDto): Promise<Mail> {
    return this.mails.receive(dto);
  }

  /** 404 when absent; 400 when the id is not a UUID. */
  @Get(':id')
  get(@Param('id', new ParseUUIDPipe({ version: '4' })) id: string): Mail {
    return this.mails.get(id);
  }
}
