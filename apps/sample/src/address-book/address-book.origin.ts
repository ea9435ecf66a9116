import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressBookConfig } from './address-book.config';

/**
 * A stand-in address-book service (the downstream the mail service looks contacts up in), started on a loopback
 * port when `ADDRESS_BOOK_URL` is not set: `GET /contacts/<email>` → JSON with `Cache-Control: max-age`, an ETag,
 * and 304 to a matching If-None-Match, after `ADDRESS_BOOK_LATENCY_MS`.
 */
@Injectable()
export class AddressBookOrigin implements OnApplicationShutdown {
  private server?: Server;
  /** Requests the stand-in answered (to see the cache work). */
  requests = 0;

  async start(config: AddressBookConfig): Promise<string> {
    const server = createServer((req, res) => {
      this.requests++;
      const m = /^\/contacts\/([^/?]+)$/.exec(req.url ?? '');
      setTimeout(() => {
        if (req.method !== 'GET' || !m) {
          res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
          return;
        }
        const email = decodeURIComponent(m[1]).toLowerCase();
        const local = email.split('@')[0] ?? email;
        const body = JSON.stringify({
          email,
          displayName: local.charAt(0).toUpperCase() + local.slice(1),
          department: 'mail',
        });
        const etag = `"${createHash('sha1').update(body).digest('base64url').slice(0, 16)}"`;
        const headers = {
          'cache-control': `max-age=${config.maxAgeSeconds}`,
          etag,
          'content-type': 'application/json',
        };
        if (req.headers['if-none-match'] === etag) res.writeHead(304, headers).end();
        else res.writeHead(200, headers).end(body);
      }, config.latencyMs);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    this.server = server;
    const address = server.address();
    return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  }

  async onApplicationShutdown(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise((r) => server.close(r));
  }
}
