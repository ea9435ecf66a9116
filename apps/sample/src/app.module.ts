import {
  Logger,
  Module,
  ValidationPipe,
  type DynamicModule,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { APP_PIPE } from '@nestjs/core';
import { SteadyCoreModule } from '@steady/core';
import { EtagModule } from '@steady/etag';
import { HealthModule } from '@steady/health';
import { LoadSheddingModule } from '@steady/load-shedding';
import { ExplainModule, MetricsModule } from '@steady/metrics';
import { WsBackpressureModule } from '@steady/ws-backpressure';
import { AddressBookModule } from './address-book/address-book.module';
import { MailModule } from './mail/mail.module';
import { NotificationsModule } from './notifications/notifications.module';
import { SampleOomModule } from './oom/sample-oom.module';
import { SAMPLE_CONFIG, type SampleConfig } from './sample.config';

/**
 * The sample mail service: every Steady module is wired in here, with in-memory defaults.
 */
@Module({})
export class AppModule implements OnApplicationShutdown {
  private readonly logger = new Logger('SampleApp');

  static forRoot(config: SampleConfig): DynamicModule {
    return {
      module: AppModule,
      global: true,
      imports: [
        SteadyCoreModule.forRoot(),
        MetricsModule.forRoot({ defaultLabels: { service: 'steady-sample' } }),
        // the on-call view at /ops/explain: the spam scanner is the downstream (latency + its bounded pool); the
        // address book's HTTP client, shedding, drain, OOM guard and WebSocket guard are found by their metrics
        ExplainModule.forRoot({
          snapshotIntervalMs: config.explain.snapshotIntervalMs,
          windowMs: Math.max(600_000, 2 * config.explain.snapshotIntervalMs),
          thresholds: { recentMs: config.explain.recentMs },
          downstreams: [
            {
              name: 'spam scanner',
              metric: 'steady_sample_spam_scan_duration_seconds',
              pool: {
                inUse: 'steady_sample_spam_scanner_pool_in_use',
                size: 'steady_sample_spam_scanner_pool_size',
                queued: 'steady_sample_spam_scanner_queue_depth',
              },
            },
          ],
        }),
        LoadSheddingModule.forRoot({
          enabled: config.shedding.enabled,
          shadow: config.shedding.shadow,
          maxInFlight: config.shedding.maxInFlight,
          ...(config.shedding.eventLoop ? {} : { eventLoop: false as const }),
        }),
        HealthModule.forRoot({
          lb: {
            delayMs: config.drain.lbDelayMs,
            fall: config.drain.lbFall,
            intervalMs: config.drain.lbIntervalMs,
            marginMs: config.drain.lbMarginMs,
            probes: config.drain.lbProbes > 0 ? config.drain.lbProbes : false,
          },
          deadlineMs: config.drain.deadlineMs,
          agent:
            config.drain.agentPort === undefined
              ? false
              : {
                  port: config.drain.agentPort,
                  host: config.host,
                  intervalMs: config.drain.agentIntervalMs,
                },
          ...(config.drain.adminToken
            ? { admin: { token: config.drain.adminToken }, adminPath: '/ops/drain' }
            : {}),
        }),
        WsBackpressureModule.forRoot({
          highWaterMark: config.ws.highWaterMark,
          lowWaterMark: config.ws.lowWaterMark,
          slowConsumerTimeoutMs: config.ws.slowConsumerTimeoutMs,
          heartbeatIntervalMs: config.ws.heartbeatIntervalMs,
          globalMaxBufferedBytes: config.ws.globalMaxBufferedBytes,
        }),
        // Conditional requests: deep ETags on GET /mails/:id and the mailbox pages, If-Match on PATCH /mails/:id,
        // shallow ETags on the other GET routes; caches keep answers but revalidate before every reuse.
        EtagModule.forRoot({ cacheControl: { private: true, maxAge: 0, mustRevalidate: true } }),
        MailModule,
        // contact lookups through @steady/http-client (memory cache; Redis with REDIS_URL; docs/http-client.md)
        AddressBookModule.forRoot(),
        NotificationsModule,
        // memory: drain, snapshot, report and exit 70 before V8 aborts (OOM_* variables, docs/oom-guard.md)
        SampleOomModule.forRoot(),
      ],
      providers: [
        { provide: SAMPLE_CONFIG, useValue: config },
        {
          provide: APP_PIPE,
          useValue: new ValidationPipe({
            whitelist: true,
            forbidNonWhitelisted: true,
            transform: true,
          }),
        },
      ],
      exports: [SAMPLE_CONFIG],
    };
  }

  /** Runs after the drain: the HTTP server is closed and no request is in flight (see docs/health.md). */
  onApplicationShutdown(signal?: string): void {
    this.logger.log(`shut down cleanly${signal ? ` after ${signal}` : ''}`);
  }
}
