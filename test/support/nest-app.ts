import type { INestApplication, ModuleMetadata, Type, DynamicModule } from '@nestjs/common';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { WsAdapter } from '@nestjs/platform-ws';
import { Test, type TestingModuleBuilder } from '@nestjs/testing';
import type { Server } from 'node:http';

/** The adapters every e2e suite runs on: `describe.each(ADAPTERS)('… (%s)', (adapter) => …)`. */
export const ADAPTERS = ['express', 'fastify'] as const;
export type AdapterName = (typeof ADAPTERS)[number];

export interface TestAppOptions {
  /** Body size limit in bytes, applied the same way on both adapters. */
  bodyLimit?: number;
  /**
   * Runs after the app is created and before it listens (global pipes, prefixes, a WebSocket adapter, …). The
   * app already has Nest's plain `WsAdapter`; `app.useWebSocketAdapter(…)` here replaces it.
   */
  configure?: (app: INestApplication, adapter: AdapterName) => void | Promise<void>;
  /** Overrides on the testing module (e.g. `overrideProvider`). */
  override?: (builder: TestingModuleBuilder) => TestingModuleBuilder;
  /** Nest logger; quiet by default. */
  logger?: false | ('log' | 'error' | 'warn' | 'debug' | 'verbose' | 'fatal')[];
}

export interface TestApp {
  readonly app: INestApplication;
  readonly adapter: AdapterName;
  /** The Node HTTP server under the adapter. */
  readonly server: Server;
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/** Creates the Nest HTTP adapter for `name`, with the same body limit on both platforms. */
export function createHttpAdapter(
  name: AdapterName,
  bodyLimit?: number,
): ExpressAdapter | FastifyAdapter {
  return name === 'express'
    ? new ExpressAdapter()
    : new FastifyAdapter(bodyLimit ? { bodyLimit } : {});
}

/**
 * Builds the same Nest app on Express or Fastify and listens on 127.0.0.1, port 0.
 * Always pair with `await testApp.close()` in `afterAll`/`afterEach`.
 */
export async function createTestApp(
  adapter: AdapterName,
  metadata: ModuleMetadata | Type<unknown> | DynamicModule,
  options: TestAppOptions = {},
): Promise<TestApp> {
  const moduleMetadata: ModuleMetadata =
    typeof metadata === 'function' || 'module' in metadata ? { imports: [metadata] } : metadata;
  let builder = Test.createTestingModule(moduleMetadata);
  if (options.override) builder = options.override(builder);
  const moduleRef = await builder.compile();
  const app = moduleRef.createNestApplication(createHttpAdapter(adapter, options.bodyLimit), {
    logger: options.logger ?? false,
    bodyParser: adapter === 'fastify' || options.bodyLimit === undefined,
  });
  if (adapter === 'express' && options.bodyLimit !== undefined) {
    const express = app as unknown as { useBodyParser(type: string, opts: object): void };
    express.useBodyParser('json', { limit: options.bodyLimit });
    express.useBodyParser('urlencoded', { limit: options.bodyLimit, extended: true });
  }
  // A gateway in the app needs a WebSocket adapter, or Nest looks for socket.io and exits the process.
  // Nest's plain WsAdapter by default; `configure` may replace it (e.g. with BackpressuredWsAdapter).
  app.useWebSocketAdapter(new WsAdapter(app));
  await options.configure?.(app, adapter);
  await app.listen(0, '127.0.0.1');
  const server = app.getHttpServer() as Server;
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('test app is not listening on TCP');
  const url = `http://127.0.0.1:${address.port}`;
  let closed = false;
  return {
    app,
    adapter,
    server,
    url,
    port: address.port,
    async close() {
      if (closed) return;
      closed = true;
      await app.close();
    },
  };
}
