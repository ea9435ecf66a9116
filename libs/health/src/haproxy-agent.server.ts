import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { DrainService } from './drain.service';
import { STEADY_HEALTH_OPTIONS } from './health.constants';
import type { ResolvedHealthOptions } from './health-options.interface';

/** How long an agent connection may stay open (HAProxy reads one line and closes). */
const SOCKET_TIMEOUT_MS = 2_000;

/**
 * The HAProxy agent-check responder (`server … agent-check agent-port <port> agent-inter <ms>`): every connection
 * gets one line and is closed — `up ready` while serving, `drain` from the moment a drain starts — so HAProxy stops
 * sending new requests within one agent interval, without waiting for `fall` failed health checks. What HAProxy
 * sends (`agent-send`) is ignored; resets and half-open sockets never crash the process. Started at bootstrap when
 * the `agent` option is set, closed at shutdown.
 *
 * @publicApi
 */
@Injectable()
export class HaproxyAgentServer implements OnApplicationBootstrap, OnApplicationShutdown {
  protected readonly logger = new Logger('Drain');
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();

  constructor(
    @Inject(STEADY_HEALTH_OPTIONS) protected readonly options: ResolvedHealthOptions,
    protected readonly drain: DrainService,
  ) {}

  /** The port the responder listens on (resolved when `agent.port` is 0), or `undefined` when it is off. */
  get port(): number | undefined {
    const address = this.server?.address();
    return address && typeof address === 'object' ? (address as AddressInfo).port : undefined;
  }

  async onApplicationBootstrap(): Promise<void> {
    const agent = this.options.agent;
    if (!agent || this.server) return;
    const server = createServer((socket) => this.answer(socket));
    server.on('error', (err) => this.logger.error(`agent-check responder: ${err.message}`));
    await new Promise<void>((resolve, reject) => {
      const fail = (err: Error) =>
        reject(new Error(`@steady/health: agent-check port: ${err.message}`));
      server.once('error', fail);
      server.listen({ port: agent.port, host: agent.host }, () => {
        server.removeListener('error', fail);
        resolve();
      });
    });
    this.server = server;
    this.logger.log(`HAProxy agent-check responder on port ${this.port}`);
  }

  async onApplicationShutdown(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** The line for the current state; `protected` so a subclass can add a weight (`up ready 50%`). */
  protected reply(): string {
    return this.drain.isServing ? 'up ready\n' : 'drain\n';
  }

  private answer(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('error', () => undefined); // HAProxy may reset right after reading the line
    socket.on('close', () => this.sockets.delete(socket));
    socket.setTimeout(SOCKET_TIMEOUT_MS, () => socket.destroy());
    socket.resume(); // discard agent-send
    socket.end(this.reply());
  }
}
