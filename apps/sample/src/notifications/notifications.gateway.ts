import { Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import {
  ConnectedSocket,
  MessageBody,
  SubscribeMessage,
  WebSocketGateway,
  type OnGatewayDisconnect,
  type WsResponse,
} from '@nestjs/websockets';
import { WsBackpressureService, type BackpressuredGatewayOptions } from '@steady/ws-backpressure';
import { isEmail } from 'class-validator';
import type { Subscription } from 'rxjs';
import type WebSocket from 'ws';
import { MailEvents } from '../mail/mail-events';
import type { Mail } from '../mail/mail.interface';

/** Mailboxes one connection may watch. */
export const MAX_SUBSCRIPTIONS_PER_CLIENT = 20;

/** What a subscriber receives for each new mail in a mailbox it watches. */
export interface MailNotification {
  mailbox: string;
  mail: Pick<Mail, 'id' | 'from' | 'subject' | 'receivedAt' | 'spam' | 'size'>;
}

type Reply = WsResponse<{ mailbox: string } | { message: string }>;

/**
 * New-mail notifications over WebSocket at `/notifications`: a client sends
 * `{"event":"subscribe","data":{"mailbox":"bob@example.com"}}` and then receives
 * `{"event":"mail","data":{"mailbox":…,"mail":{id,from,subject,receivedAt,spam,size}}}` whenever `POST /mails`
 * stores a mail for that address.
 *
 * The slow consumers of the seed live here. With `BackpressuredWsAdapter` (the default) a client that stops
 * reading turns unwritable at the high water mark; while it is, notifications are **coalesced per mailbox** (it
 * gets the newest mail of each mailbox once it catches up — enough to know it should refresh the listing), and
 * it is evicted after the slow-consumer timeout. With `WS_BACKPRESSURE=false` (Nest's plain `WsAdapter`) the same
 * client grows the server's memory without bound.
 */
@WebSocketGateway<BackpressuredGatewayOptions>({
  path: '/notifications',
  backpressure: { overflow: 'coalesce' },
})
export class NotificationsGateway implements OnGatewayDisconnect, OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('Notifications');
  private readonly subscribers = new Map<string, Set<WebSocket>>();
  private readonly mailboxesOf = new Map<WebSocket, Set<string>>();
  private subscription: Subscription | undefined;

  constructor(
    private readonly events: MailEvents,
    private readonly ws: WsBackpressureService,
  ) {}

  onModuleInit(): void {
    this.subscription = this.events.stored$.subscribe((mail) => this.notify(mail));
  }

  onModuleDestroy(): void {
    this.subscription?.unsubscribe();
  }

  @SubscribeMessage('subscribe')
  subscribe(@ConnectedSocket() client: WebSocket, @MessageBody() body: unknown): Reply {
    const mailbox = mailboxOf(body);
    if (mailbox === undefined) return invalid('subscribe');
    let mine = this.mailboxesOf.get(client);
    if (!mine?.has(mailbox) && (mine?.size ?? 0) >= MAX_SUBSCRIPTIONS_PER_CLIENT) {
      return {
        event: 'error',
        data: { message: `at most ${MAX_SUBSCRIPTIONS_PER_CLIENT} mailboxes per connection` },
      };
    }
    if (!mine) this.mailboxesOf.set(client, (mine = new Set()));
    mine.add(mailbox);
    let clients = this.subscribers.get(mailbox);
    if (!clients) this.subscribers.set(mailbox, (clients = new Set()));
    clients.add(client);
    return { event: 'subscribed', data: { mailbox } };
  }

  @SubscribeMessage('unsubscribe')
  unsubscribe(@ConnectedSocket() client: WebSocket, @MessageBody() body: unknown): Reply {
    const mailbox = mailboxOf(body);
    if (mailbox === undefined) return invalid('unsubscribe');
    this.remove(client, mailbox);
    return { event: 'unsubscribed', data: { mailbox } };
  }

  handleDisconnect(client: WebSocket): void {
    for (const mailbox of this.mailboxesOf.get(client) ?? []) this.remove(client, mailbox);
    this.mailboxesOf.delete(client);
  }

  /** Connections watching `mailbox` (for tests and the explain view). */
  subscriberCount(mailbox: string): number {
    return this.subscribers.get(normalise(mailbox))?.size ?? 0;
  }

  private notify(mail: Mail): void {
    const { id, from, subject, receivedAt, spam, size } = mail;
    for (const mailbox of new Set(mail.to.map(normalise))) {
      const clients = this.subscribers.get(mailbox);
      if (!clients) continue;
      const data: MailNotification = {
        mailbox,
        mail: { id, from, subject, receivedAt, spam, size },
      };
      // one serialisation for all of the mailbox's watchers; the newest per mailbox wins while one lags
      const r = this.ws.broadcast(clients, 'mail', data, { coalesceKey: `mail:${mailbox}` });
      if (r.dropped + r.evicted > 0) {
        this.logger.debug(`mail ${id} to ${mailbox}: ${r.dropped} dropped, ${r.evicted} evicted`);
      }
    }
  }

  private remove(client: WebSocket, mailbox: string): void {
    this.mailboxesOf.get(client)?.delete(mailbox);
    const clients = this.subscribers.get(mailbox);
    if (!clients) return;
    clients.delete(client);
    if (clients.size === 0) this.subscribers.delete(mailbox);
  }
}

function normalise(address: string): string {
  return address.trim().toLowerCase();
}

function mailboxOf(body: unknown): string | undefined {
  const raw = (body as { mailbox?: unknown } | null | undefined)?.mailbox;
  if (typeof raw !== 'string' || raw.length > 254 || !isEmail(raw.trim())) return undefined;
  return normalise(raw);
}

function invalid(what: string): Reply {
  return {
    event: 'error',
    data: { message: `${what} needs { "mailbox": "<email address>" }` },
  };
}
