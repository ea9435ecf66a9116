import { Logger, type INestApplication, type LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter, type NestExpressApplication } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { WsAdapter } from '@nestjs/platform-ws';
import { DrainService, enableDrainHooks } from '@steady/health';
import { BackpressuredWsAdapter } from '@steady/ws-backpressure';
import { AppModule } from './app.module';
import type { SampleConfig } from './sample.config';

const ORDER: LogLevel[] = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'];

/** Creates the sample app on the configured adapter (not yet listening). */
export async function createSampleApp(config: SampleConfig): Promise<INestApplication> {
  const logger = ORDER.slice(0, ORDER.indexOf(config.logLevel) + 1);
  if (config.adapter === 'fastify') {
    const app = await NestFactory.create(
      AppModule.forRoot(config),
      new FastifyAdapter({ bodyLimit: config.maxBodyBytes }),
      {
        logger,
      },
    );
    useSampleWebSocketAdapter(app, config);
    return app;
  }
  const app = await NestFactory.create<NestExpressApplication>(
    AppModule.forRoot(config),
    new ExpressAdapter(),
    {
      logger,
      bodyParser: false,
    },
  );
  applyExpressBodyLimit(app, config.maxBodyBytes);
  useSampleWebSocketAdapter(app, config);
  return app;
}

/**
 * The notification gateway's adapter, on the app's own HTTP server: `BackpressuredWsAdapter`, or Nest's plain
 * `WsAdapter` with `WS_BACKPRESSURE=false` (the incident: a slow client grows the server without bound).
 */
export function useSampleWebSocketAdapter(app: INestApplication, config: SampleConfig): void {
  app.useWebSocketAdapter(
    config.ws.backpressure ? new BackpressuredWsAdapter(app) : new WsAdapter(app),
  );
}

/** Express's JSON parser with the same limit Fastify enforces; both answer 413 above it. */
export function applyExpressBodyLimit(app: INestApplication, limit: number): void {
  const express = app as NestExpressApplication;
  express.useBodyParser('json', { limit });
  express.useBodyParser('urlencoded', { limit, extended: true });
}

/** Creates, starts and returns the app; logs where it listens. */
export async function startSampleApp(config: SampleConfig): Promise<INestApplication> {
  const app = await createSampleApp(config);
  // SIGTERM/SIGINT drain first (readiness DOWN, wait for the load balancer, finish in-flight), then Nest's shutdown
  enableDrainHooks(app);
  if (config.host) await app.listen(config.port, config.host);
  else await app.listen(config.port);
  const url = await app.getUrl();
  const logger = new Logger('SampleApp');
  logger.log(`Steady sample mail service on ${url} (${config.adapter}); metrics at ${url}/metrics`);
  logger.log(
    `readiness ${url}/health/ready, liveness ${url}/health/live; SIGTERM/SIGINT drain after a ` +
      `${app.get(DrainService).options.lbWaitMs} ms load-balancer wait`,
  );
  return app;
}
