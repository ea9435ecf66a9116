import { Logger, type INestApplicationContext } from '@nestjs/common';
import { WsAdapter } from '@nestjs/platform-ws';
import type { MessageMappingProperties } from '@nestjs/websockets';
import { SteadyOptionsError } from '@steady/core';
import type { IncomingMessage } from 'node:http';
import {
  defer,
  EMPTY,
  filter,
  finalize,
  first,
  fromEvent,
  mergeMap,
  share,
  takeUntil,
  catchError,
  tap,
  type Observable,
} from 'rxjs';
import WebSocket, { WebSocketServer } from 'ws';
import { PAUSED_HANDLERS, type ClientGuard } from './client-guard';
import { DefaultOverflowPolicy } from './default-overflow.policy';
import { GuardedWebSocket, kClientGuard } from './guarded-web-socket';
import {
  MALFORMED_MESSAGE_CLOSE_CODE,
  WS_BACKPRESSURE_MODULE_NAME,
} from './ws-backpressure.constants';
import type {
  ResolvedGatewayBackpressure,
  WsBackpressureGatewayOptions,
  WsBackpressureModuleOptions,
} from './ws-backpressure-options.interface';
import { resolveWsBackpressureOptions } from './ws-backpressure-options.validation';
import { WsBackpressureService } from './ws-backpressure.service';

/** What Nest's `WsAdapter` accepts as a message parser. */
export type WsMessageParser = (
  data: string | Buffer | ArrayBuffer | Buffer[],
) => { event: string; data: unknown } | void;

/** Options of {@link BackpressuredWsAdapter}. @publicApi */
export interface BackpressuredWsAdapterOptions {
  /** Nest's `WsAdapter` message parser (default: `JSON.parse`). */
  messageParser?: WsMessageParser;
  /**
   * Settings when `WsBackpressureModule` is **not** imported (then the adapter keeps its own registry, without
   * metrics). With the module imported, configure the module instead.
   */
  backpressure?: WsBackpressureModuleOptions;
}

/**
 * Gateway options understood by {@link BackpressuredWsAdapter}: ws server options plus `backpressure`.
 *
 * @example
 * @WebSocketGateway<BackpressuredGatewayOptions>({ path: '/notifications', backpressure: { overflow: 'coalesce' } })
 *
 * @publicApi
 */
export interface BackpressuredGatewayOptions {
  path?: string;
  /** This gateway's settings over the module's. */
  backpressure?: WsBackpressureGatewayOptions;
  /** A subclass of `GuardedWebSocket` (default `GuardedWebSocket`). */
  WebSocket?: typeof GuardedWebSocket;
  /** ws options win over the `backpressure` ones of the same meaning. */
  maxPayload?: number;
  perMessageDeflate?: boolean | object;
  [wsOption: string]: unknown;
}

const UNDERLYING_HTTP_SERVER_PORT = 0;

/** ws's documented error codes for bad input, and the close code each one sends. */
function closeCodeOf(err: Error & { code?: string }): number {
  switch (err.code) {
    case 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH':
    case 'WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH':
      return 1009;
    case 'WS_ERR_INVALID_UTF8':
      return 1007;
    default:
      return 1002;
  }
}

/**
 * Nest's `WsAdapter` with a guard on every client: ws is given the {@link GuardedWebSocket} class (its
 * `WebSocket` server option), so every `send()` — Nest's own replies included — respects the client's water
 * marks and overflow policy. Also: bounded handler concurrency (inbound paused while a client is unwritable or
 * at its limit), a heartbeat, `maxPayload` 64 KiB, no permessage-deflate, 1007 for malformed messages, and
 * client protocol errors logged at debug level instead of as errors (client-controlled input must not flood the
 * log). Attaches to the app's HTTP server, on Express and Fastify alike.
 *
 * @example
 * const app = await NestFactory.create(AppModule);          // AppModule imports WsBackpressureModule.forRoot()
 * app.useWebSocketAdapter(new BackpressuredWsAdapter(app));
 *
 * @publicApi
 */
export class BackpressuredWsAdapter extends WsAdapter {
  protected override readonly logger = new Logger(BackpressuredWsAdapter.name);
  protected readonly service: WsBackpressureService;
  private readonly ownsService: boolean;
  private readonly stops = new Set<() => void>();

  constructor(
    appOrHttpServer?: INestApplicationContext | object,
    options: BackpressuredWsAdapterOptions = {},
  ) {
    super(
      appOrHttpServer,
      options.messageParser ? { messageParser: options.messageParser } : undefined,
    );
    const fromModule = findService(appOrHttpServer);
    if (fromModule && options.backpressure !== undefined) {
      throw new SteadyOptionsError(
        WS_BACKPRESSURE_MODULE_NAME,
        'BackpressuredWsAdapter.backpressure',
        'no adapter options while WsBackpressureModule is imported (configure the module)',
        options.backpressure,
      );
    }
    this.ownsService = fromModule === undefined;
    this.service =
      fromModule ??
      new WsBackpressureService(
        resolveWsBackpressureOptions(options.backpressure ?? {}),
        options.backpressure?.overflowPolicy ?? new DefaultOverflowPolicy(),
      );
  }

  /** The registry this adapter's clients are in. */
  get backpressure(): WsBackpressureService {
    return this.service;
  }

  override create(
    port: number,
    options: Record<string, any> & { namespace?: string; server?: any; path?: string } = {},
  ): any {
    const { server, path, backpressure, WebSocket: socketClass, ...wsOptions } = options;
    if (wsOptions.namespace) {
      const error = new Error(
        '"BackpressuredWsAdapter" does not support namespaces (neither does Nest\'s "WsAdapter").',
      );
      this.logger.error(error);
      throw error;
    }
    const gatewayPath = typeof path === 'string' && path !== '' ? path : '/';
    const config = this.service.resolveGateway(
      gatewayPath,
      backpressure as WsBackpressureGatewayOptions | undefined,
    );
    const serverOptions = {
      maxPayload: config.maxPayload,
      perMessageDeflate: config.perMessageDeflate,
      closeTimeout: config.closeTimeoutMs,
      ...wsOptions,
      WebSocket: this.socketClass(socketClass, gatewayPath),
    };

    let wsServer: WebSocketServer;
    if (port === UNDERLYING_HTTP_SERVER_PORT && this.httpServer) {
      this.ensureHttpServerExists(port, this.httpServer);
      wsServer = this.bindErrorHandler(new WebSocketServer({ noServer: true, ...serverOptions }));
      this.addWsServerToRegistry(wsServer, port, path as string);
    } else if (server) {
      return server;
    } else if (path && port !== UNDERLYING_HTTP_SERVER_PORT) {
      const httpServer = this.ensureHttpServerExists(port);
      httpServer?.listen(port);
      wsServer = this.bindErrorHandler(new WebSocketServer({ noServer: true, ...serverOptions }));
      this.addWsServerToRegistry(wsServer, port, path);
    } else {
      wsServer = this.bindErrorHandler(new WebSocketServer({ port, path, ...serverOptions }));
    }
    this.guardServer(wsServer, config, gatewayPath);
    return wsServer;
  }

  /** Puts every client of `wsServer` under guard and starts its heartbeat. */
  protected guardServer(
    wsServer: WebSocketServer,
    config: ResolvedGatewayBackpressure,
    path: string,
  ): void {
    const guards = new Set<ClientGuard>();
    wsServer.on('connection', (client: WebSocket, request: IncomingMessage) => {
      if (!(client instanceof GuardedWebSocket) || client[kClientGuard] !== undefined) return;
      const guard = this.service.register(client, config, path, request);
      guards.add(guard);
      client.once('close', () => guards.delete(guard));
    });
    if (config.heartbeatIntervalMs !== false) {
      const stop = this.service.startHeartbeat(guards, config.heartbeatIntervalMs);
      this.stops.add(stop);
      wsServer.once('close', () => {
        stop();
        this.stops.delete(stop);
      });
    }
  }

  override bindErrorHandler(server: any): any {
    server.on('connection', (client: WebSocket) =>
      client.on('error', (err: Error) => this.onClientError(err)),
    );
    server.on('error', (err: Error) => this.logger.error(err));
    return server;
  }

  /**
   * Like Nest's, with a bound on how many handler results (Observables, Promises) of one client run at once:
   * at the limit the client's inbound is paused (TCP pushes back on the client) until one completes. Replies go
   * through `client.send()`, i.e. the guard and the gateway's overflow policy.
   */
  override bindMessageHandlers(
    client: WebSocket,
    handlers: MessageMappingProperties[],
    transform: (data: any) => Observable<any>,
  ): void {
    const guard = client instanceof GuardedWebSocket ? client[kClientGuard] : undefined;
    if (guard === undefined) {
      super.bindMessageHandlers(client, handlers, transform);
      return;
    }
    const handlersMap = new Map<string, MessageMappingProperties>();
    for (const handler of handlers) handlersMap.set(handler.message as string, handler);
    const limit = guard.config.handlerConcurrency;
    let inFlight = 0; // received and not finished: waiting for a slot or running
    const close$ = fromEvent(client, 'close').pipe(share(), first());
    fromEvent(client, 'message')
      .pipe(
        tap(() => {
          if (++inFlight > limit) guard.pauseInbound(PAUSED_HANDLERS);
        }),
        mergeMap(
          (event) =>
            defer(() => this.handleMessage(client, guard, event, handlersMap, transform)).pipe(
              filter((result) => result !== null && result !== undefined),
              catchError((err: unknown) => {
                this.logger.error(err);
                return EMPTY;
              }),
              finalize(() => {
                if (--inFlight <= limit) guard.resumeInbound(PAUSED_HANDLERS);
              }),
            ),
          limit,
        ),
        takeUntil(close$),
      )
      .subscribe((response) => {
        if (client.readyState !== WebSocket.OPEN) return;
        client.send(JSON.stringify(response));
      });
  }

  override async dispose(): Promise<void> {
    for (const stop of this.stops) stop();
    this.stops.clear();
    await super.dispose();
    if (this.ownsService) this.service.shutdown();
  }

  /**
   * Parses and dispatches one message. A message that is not JSON, or not an object with a string `event`,
   * closes the client with 1007 (`closeOnMalformedMessage`); an unknown event is ignored, as Nest does.
   */
  protected handleMessage(
    client: WebSocket,
    guard: ClientGuard,
    event: unknown,
    handlersMap: Map<string, MessageMappingProperties>,
    transform: (data: any) => Observable<any>,
  ): Observable<any> {
    let message: unknown;
    try {
      message = this.messageParser((event as { data: string | Buffer }).data);
    } catch {
      this.rejectMalformed(client, guard, 'not JSON');
      return EMPTY;
    }
    if (message === undefined || message === null) return EMPTY; // a custom parser dropped it
    const { event: name, data } = message as { event?: unknown; data?: unknown };
    if (typeof message !== 'object' || typeof name !== 'string') {
      this.rejectMalformed(client, guard, 'no string "event"');
      return EMPTY;
    }
    const handler = handlersMap.get(name);
    if (!handler) return EMPTY;
    try {
      return transform(handler.callback(data, name));
    } catch (err) {
      this.logger.error(err);
      return EMPTY;
    }
  }

  private rejectMalformed(client: WebSocket, guard: ClientGuard, why: string): void {
    if (!guard.config.closeOnMalformedMessage || client.readyState !== WebSocket.OPEN) return;
    this.service.recordProtocolError(MALFORMED_MESSAGE_CLOSE_CODE);
    this.logger.debug(
      `closing client ${guard.label} on ${guard.path}: ${MALFORMED_MESSAGE_CLOSE_CODE} malformed message (${why})`,
    );
    client.close(MALFORMED_MESSAGE_CLOSE_CODE, 'malformed message');
  }

  private onClientError(err: Error & { code?: string }): void {
    const code = closeCodeOf(err);
    this.service.recordProtocolError(code);
    this.logger.debug(`client closed with ${code}: ${err.message}`);
  }

  private socketClass(given: unknown, path: string): typeof GuardedWebSocket {
    if (given === undefined) return GuardedWebSocket;
    if (
      typeof given === 'function' &&
      (given === GuardedWebSocket || given.prototype instanceof GuardedWebSocket)
    ) {
      return given as typeof GuardedWebSocket;
    }
    throw new SteadyOptionsError(
      `${WS_BACKPRESSURE_MODULE_NAME}: @WebSocketGateway(${JSON.stringify(path)})`,
      'WebSocket',
      'GuardedWebSocket or a subclass of it',
      given,
    );
  }
}

function findService(app: unknown): WsBackpressureService | undefined {
  const ctx = app as Partial<INestApplicationContext> | undefined;
  if (!ctx || typeof ctx.get !== 'function') return undefined;
  try {
    return ctx.get(WsBackpressureService, { strict: false });
  } catch {
    return undefined;
  }
}
