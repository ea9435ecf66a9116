import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import { Subject, type Observable } from 'rxjs';
import type { Mail } from './mail.interface';

/** Mail lifecycle events, so other parts of the app (the notification gateway) can react without coupling. */
@Injectable()
export class MailEvents implements OnModuleDestroy {
  private readonly stored = new Subject<Mail>();
  /** Every mail `POST /mails` stored, after it is stored. */
  readonly stored$: Observable<Mail> = this.stored.asObservable();

  mailStored(mail: Mail): void {
    this.stored.next(mail);
  }

  onModuleDestroy(): void {
    this.stored.complete();
  }
}
