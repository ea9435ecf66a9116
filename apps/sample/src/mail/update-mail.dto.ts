import { IsBoolean, IsIn, IsOptional } from 'class-validator';
import { MAIL_FOLDERS, type MailFolder } from './mail.interface';

/** Body of `PATCH /mails/:id`: mark read/unread, move to a folder, or both. */
export class UpdateMailDto {
  @IsOptional()
  @IsBoolean()
  read?: boolean;

  @IsOptional()
  @IsIn(MAIL_FOLDERS, { message: `folder must be one of ${MAIL_FOLDERS.join(', ')}` })
  folder?: MailFolder;
}
