import { Module } from '@nestjs/common';
import { MailModule } from '../mail/mail.module';
import { NotificationsGateway } from './notifications.gateway';

/** The new-mail notification gateway (`/notifications`). Needs `WsBackpressureModule` (global). */
@Module({
  imports: [MailModule],
  providers: [NotificationsGateway],
  exports: [NotificationsGateway],
})
export class NotificationsModule {}
