import { Injectable, Logger } from '@nestjs/common';
import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

const ATTACHED = Symbol.for('steady.inFlight.attached');
const START = Symbol.for('steady.inFlight.start');
const CLASS = Symbol.for('steady.inFlight.class');
const LIVE = Symbol.for('steady.inFlight.live');

type TrackedRequest = IncomingMessage & { [START]?: number; [CLASS]?: string; [LIVE]?: boolean };
/** What the tracker keeps per request in flight: the public view plus the response (for `Connection: close`). */
interface Entry extends InFlightRequest {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
}
type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;
type AttachableServer = Pick<HttpServer, 'on' | 'removeListener' | 'listeners'> & {
  [ATTACHED]?: InFlightTracker;
};

/**
 * Decides, before anything else runs, whether a request may enter. Returns `true` to admit it; returns `false`
 * after answering it (the hook must end the response). Must be cheap and must not throw.
 *
 * @publicApi
 */
export type AdmissionHook = (req: IncomingMessage, res: ServerResponse) => boolean;

/** A request currently in flight, as seen by {@link InFlightTracker.oldest}. */
export interface InFlightRequest {
  /** `performance.now()` when the request arrived at the HTTP server. */
  readonly startedAt: number;
  readonly method: string | undefined;
  readonly url: string | undefined;
}

/**
 * Counts requests in flight at the HTTP server, for Express and Fastify alike: a request is counted when the
 * server emits `request` (before any middleware or body parsing: the tracker dispatches to the framework) and released
 * exactly once when its response emits `close` (finished, aborted by the client, timed out or failed).
 *
 * This is the one count every Steady library reads: the shedder limits it, the drain waits for it to reach 0,
 * the OOM guard waits for it, metrics expose it. Nothing else counts requests.
 *
 * Per request it does a counter increment, a `Map.set` and one `close` listener; it never allocates timers.
 *
 * @publicApi
 */
@Injectable()
export class InFlightTracker {
  protected readonly logger = new Logger(InFlightTracker.name);
  private readonly requests = new Map<number, Entry>();
  private readonly servers = new Map<
    AttachableServer,
    {
      dispatch: RequestListener;
      framework: RequestListener[];
      connection: (socket: Socket) => void;
    }
  >();
  private admission: AdmissionHook | undefined;
  private connectionClose = false;
  private rejected = 0;
  private readonly idleWaiters = new Set<() => void>();
  private nextId = 0;
  private started = 0;
  private completed = 0;
  private aborted = 0;
  private peak = 0;
  private openConnections = 0;
  private acceptedConnections = 0;
  private readonly classes = new Map<string, number>();
  /** `performance.now()` of the first request of the current loop turn; -1 between turns. */
  private turnStart = -1;
  private lastTurnMs = 0;
  private turnMaxMs = 0;
  private acceptedInTurn = false;
  private acceptingTurns = 0;
  private readonly endTurn = (): void => {
    const ms = performance.now() - this.turnStart;
    this.lastTurnMs = ms;
    if (ms > this.turnMaxMs) this.turnMaxMs = ms;
    this.acceptingTurns = this.acceptedInTurn ? this.acceptingTurns + 1 : 0;
    this.acceptedInTurn = false;
    this.turnStart = -1;
  };

  /** Client connections open now on the attached servers. */
  get connections(): number {
    return this.openConnections;
  }

  /**
   * Connections accepted since start-up (monotonic). Its rate is a backlog signal: HTTP/1.1 clients open a new
   * connection when all of theirs are waiting, so a saturated server that keeps being handed new connections has
   * work queueing in front of it; a closed loop (a fixed client pool, a proxy's maxconn) opens none.
   */
  get connectionsTotal(): number {
    return this.acceptedConnections;
  }

  /** Requests currently in flight. */
  get inFlight(): number {
    return this.requests.size;
  }

  /**
   * Requests in flight that were tagged with `cls` by {@link classify} — a breakdown of {@link inFlight}, not a
   * second count (e.g. load shedding's priorities). Untagged requests are in no class.
   */
  inFlightOf(cls: string): number {
    return this.classes.get(cls) ?? 0;
  }

  /**
   * Tags a request with a class until it is released. May be called before the request is counted (from the
   * admission hook) or while it is in flight (from a guard); tagging again moves it to the new class. Tagging a
   * released request does nothing.
   */
  classify(req: IncomingMessage, cls: string): void {
    const tracked = req as TrackedRequest;
    const previous = tracked[CLASS];
    if (previous === cls) return;
    tracked[CLASS] = cls;
    if (tracked[LIVE] !== true) return; // counted (or not) when tracked
    if (previous !== undefined) this.classes.set(previous, (this.classes.get(previous) ?? 1) - 1);
    this.classes.set(cls, (this.classes.get(cls) ?? 0) + 1);
  }

  /**
   * Milliseconds the current event-loop turn has spent since its first request: the work queued ahead of this
   * request in the same turn. Node parses and dispatches every request that arrived while the loop was busy in one
   * poll phase, one after the other, so on a CPU-bound server this is how long the request has waited in the
   * process (it waited about one turn in the kernel before that). 0 outside a request dispatch.
   */
  turnElapsedMs(now: number = performance.now()): number {
    return this.turnStart < 0 ? 0 : now - this.turnStart;
  }

  /**
   * Request turns in a row, up to the last completed one, in which a connection was accepted. Node (libuv
   * >= 1.45) accepts one connection per event-loop turn, so while clients keep opening connections faster than
   * that, every turn accepts one and the rest wait in the kernel's accept queue: with long turns, an open loop
   * queueing in front of the server. A closed loop (a client pool, a proxy's `maxconn`) opens none.
   */
  get acceptingTurnStreak(): number {
    return this.acceptingTurns;
  }

  /** Length (ms) of the last completed request turn: from its first request to the end of its poll phase. */
  get previousTurnMs(): number {
    return this.lastTurnMs;
  }

  /**
   * The longest request turn (ms) since the last call, then resets it. Read by the {@link UtilisationMonitor}
   * once per sample: unlike the delay histogram's window, it says how long the loop's turns are right now.
   */
  takeTurnMax(): number {
    const max = this.turnMaxMs;
    this.turnMaxMs = 0;
    return max;
  }

  /** Requests counted since start-up (monotonic). */
  get startedTotal(): number {
    return this.started;
  }

  /** Requests released since start-up (monotonic); `startedTotal - completedTotal === inFlight`. */
  get completedTotal(): number {
    return this.completed;
  }

  /** Requests answered by the admission hook (e.g. shed) without entering; never counted in flight. */
  get rejectedTotal(): number {
    return this.rejected;
  }

  /** Of the released requests, those whose response never finished (client abort, socket error, timeout). */
  get abortedTotal(): number {
    return this.aborted;
  }

  /**
   * The highest in-flight count since the last call (or since start-up), then resets it to the current count.
   * Read by the {@link UtilisationMonitor} once per sample so bursts between samples are not missed.
   */
  takePeak(): number {
    const peak = Math.max(this.peak, this.requests.size);
    this.peak = this.requests.size;
    return peak;
  }

  /** Whether a server is already being counted by this tracker. */
  isAttached(server: object): boolean {
    return (server as AttachableServer)[ATTACHED] === this;
  }

  /**
   * Starts counting the requests of `server` (a Node `http`/`https` server, e.g. the one under Express or
   * Fastify). The framework's `request` listeners are moved behind one dispatcher, so every request is seen
   * here first: the {@link AdmissionHook} (if any) may answer it at once, before any middleware, routing or
   * body parsing; otherwise it is counted and handed to the framework. Idempotent: the same server is never
   * counted twice, even by two trackers.
   */
  attach(server: AttachableServer): void {
    const owner = server[ATTACHED];
    if (owner === this) return;
    if (owner) {
      throw new Error(
        '@steady/core: this HTTP server is already counted by another InFlightTracker; ' +
          'import SteadyCoreModule.forRoot() once, in the root module',
      );
    }
    const framework = server.listeners('request') as RequestListener[];
    for (const l of framework) server.removeListener('request', l);
    const dispatch: RequestListener = (req, res) => {
      if (this.turnStart < 0) this.startTurn();
      if (this.connectionClose) markConnectionClose(req, res);
      if (this.admission !== undefined && !this.admission(req, res)) {
        this.rejected++;
        return;
      }
      this.track(req, res);
      for (const l of framework) l.call(server, req, res);
    };
    const connection = (socket: Socket) => {
      this.openConnections++;
      this.acceptedConnections++;
      this.acceptedInTurn = true;
      socket.once('close', () => this.openConnections--);
    };
    server.on('request', dispatch);
    server.on('connection', connection);
    server[ATTACHED] = this;
    this.servers.set(server, { dispatch, framework, connection });
  }

  /** Stops counting new requests of `server` and gives the framework its listeners back. */
  detach(server: AttachableServer): void {
    const entry = this.servers.get(server);
    if (!entry) return;
    server.removeListener('request', entry.dispatch);
    server.removeListener('connection', entry.connection);
    for (const l of entry.framework) server.on('request', l);
    delete server[ATTACHED];
    this.servers.delete(server);
  }

  /** Detaches from every server. */
  detachAll(): void {
    for (const server of [...this.servers.keys()]) this.detach(server);
  }

  /**
   * Installs the admission hook: called for every request before it is counted or reaches the framework.
   * Returning `false` means the hook has answered the request itself (e.g. 429); it is then counted in
   * {@link rejectedTotal}, never in {@link inFlight}. One hook at a time (load shedding owns it); returns the
   * function that removes it.
   */
  setAdmission(hook: AdmissionHook): () => void {
    if (this.admission !== undefined && this.admission !== hook) {
      throw new Error('@steady/core: an admission hook is already installed');
    }
    this.admission = hook;
    return () => {
      if (this.admission === hook) this.admission = undefined;
    };
  }

  /**
   * While on, every response is sent with `Connection: close`: the responses in flight whose headers are not
   * written yet are marked at once, and every request that arrives from then on is marked before the admission
   * hook and the framework see it. Node then closes each connection after its response, so keep-alive clients
   * reconnect — elsewhere, once the load balancer has taken this instance out. Used by the drain; HTTP/2
   * requests are left alone (the header is forbidden there). Returns how many in-flight responses were marked.
   */
  setConnectionClose(enabled: boolean): number {
    this.connectionClose = enabled;
    if (!enabled) return 0;
    let marked = 0;
    for (const { req, res } of this.requests.values()) {
      if (markConnectionClose(req, res)) marked++;
    }
    return marked;
  }

  /** Whether responses are being sent with `Connection: close` (see {@link setConnectionClose}). */
  get closingConnections(): boolean {
    return this.connectionClose;
  }

  /**
   * Counts one request until its response closes. Called by the server listener; exposed for servers that
   * do not emit `request` (a custom `serverFactory`). Counting the same request twice is a no-op.
   */
  track(req: IncomingMessage, res: ServerResponse): void {
    const tracked = req as TrackedRequest;
    if (tracked[START] !== undefined) return;
    const startedAt = performance.now();
    tracked[START] = startedAt;
    tracked[LIVE] = true;
    const initial = tracked[CLASS];
    if (initial !== undefined) this.classes.set(initial, (this.classes.get(initial) ?? 0) + 1);
    const id = this.nextId++;
    this.requests.set(id, { startedAt, method: req.method, url: req.url, req, res });
    if (this.connectionClose) markConnectionClose(req, res);
    this.started++;
    if (this.requests.size > this.peak) this.peak = this.requests.size;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      tracked[LIVE] = false;
      const cls = tracked[CLASS];
      if (cls !== undefined) this.classes.set(cls, (this.classes.get(cls) ?? 1) - 1);
      this.requests.delete(id);
      this.completed++;
      if (!res.writableFinished) this.aborted++;
      if (this.requests.size === 0 && this.idleWaiters.size > 0) this.notifyIdle();
    };
    res.once('close', release);
  }

  /** When the request arrived (`performance.now()` time base), or `undefined` if it was not counted. */
  startedAt(req: object): number | undefined {
    const raw = (req as { raw?: object }).raw ?? req;
    return (raw as TrackedRequest)[START];
  }

  /** Milliseconds since the request arrived, or `undefined` if it was not counted. */
  elapsedMs(req: object): number | undefined {
    const start = this.startedAt(req);
    return start === undefined ? undefined : performance.now() - start;
  }

  /** The longest-running requests in flight, oldest first (insertion order, so this is O(limit)). */
  oldest(limit = 10): InFlightRequest[] {
    const out: InFlightRequest[] = [];
    for (const { startedAt, method, url } of this.requests.values()) {
      if (out.length >= limit) break;
      out.push({ startedAt, method, url });
    }
    return out;
  }

  /**
   * Resolves `true` as soon as no request is in flight, or `false` when `timeoutMs` passes first.
   * Used by the drain: it waits on the very count the shedder limits.
   */
  waitForIdle(timeoutMs: number): Promise<boolean> {
    if (this.requests.size === 0) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.idleWaiters.delete(done);
        resolve(true);
      };
      const timer = setTimeout(
        () => {
          this.idleWaiters.delete(done);
          resolve(this.requests.size === 0);
        },
        Math.max(0, timeoutMs),
      );
      this.idleWaiters.add(done);
    });
  }

  /** Marks the start of a loop turn; `setImmediate` ends it (the check phase runs after the poll phase's I/O). */
  private startTurn(): void {
    this.turnStart = performance.now();
    setImmediate(this.endTurn);
  }

  private notifyIdle(): void {
    for (const waiter of [...this.idleWaiters]) waiter();
  }
}

/** Sets `Connection: close` on an HTTP/1 response whose headers are not written yet; true when it did. */
function markConnectionClose(req: IncomingMessage, res: ServerResponse): boolean {
  if (res.headersSent || req.httpVersionMajor !== 1) return false;
  res.setHeader('connection', 'close');
  return true;
}
