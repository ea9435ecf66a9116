import { IsEmail, MaxLength } from 'class-validator';

/** Path parameters of `GET /mailboxes/:user/mails`. */
export class MailboxParams {
  @IsEmail({}, { message: 'user must be an email address' })
  @MaxLength(254)
  user!: string;
}
