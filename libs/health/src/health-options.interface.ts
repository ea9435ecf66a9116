import type { HealthIndicatorFunction } from '@nestjs/terminus';

/**
 * How the load balancer (or Kubernetes) checks readiness; the drain waits long enough for it to notice the flip:
 * `max(delayMs, min(fall × intervalMs, agent.intervalMs) + marginMs)`, or less once `probes` readiness probes have
 * been answered 503.
 *
 * @publicApi
 */
export interface LoadBalancerOptions {
  /** Minimum wait after the flip, in ms (e.g. a Kubernetes endpoint-propagation delay). Default `0`; 0..600000. */
  delayMs?: number;
  /** Failed checks before the balancer takes the server out (HAProxy `fall`, K8s `failureThreshold`). Default `3`; 1..100. */
  fall?: number;
  /**
   * Check interval in ms (HAProxy `fastinter` if set, else `inter`; K8s `periodSeconds` × 1000). Default `2000`;
   * 1..600000.
   */
  intervalMs?: number;
  /** Added to `fall × intervalMs` (and after the last counted probe): check timeouts, propagation. Default `1000`; 0..600000. */
  marginMs?: number;
  /**
   * End the wait early, `marginMs` after this many readiness probes have been answered 503 (set it to `fall` when
   * one balancer probes). The timed wait stays the upper bound. Default `false`; 1..100.
   */
  probes?: number | false;
}

/**
 * The HAProxy agent-check responder: a TCP port answering `up ready` while serving and `drain` from the flip on, so
 * HAProxy (`agent-check agent-port <port> agent-inter <ms>`) stops routing within one agent interval.
 *
 * @publicApi
 */
export interface AgentCheckOptions {
  /** TCP port (0: any free port, see `HaproxyAgentServer.port`). */
  port: number;
  /** Listen address. Default all interfaces. */
  host?: string;
  /** HAProxy's `agent-inter` in ms: the balancer notices a drain within it. Default `2000`; 1..600000. */
  intervalMs?: number;
}

/** Options of the admin endpoint (mounted at the `adminPath` extra). @publicApi */
export interface DrainAdminOptions {
  /** Bearer token a caller must send (`Authorization: Bearer <token>`); at least 16 characters. */
  token: string;
  /** `process.exit` code after an admin drain, or `false` (default: the module's `exitCode`). */
  exitCode?: number | false;
}

/**
 * Options of {@link HealthModule}. Every option has a default.
 *
 * @publicApi
 */
export interface HealthModuleOptions {
  /** Indicators the readiness endpoint checks besides the drain (databases, downstreams the instance needs). */
  readiness?: HealthIndicatorFunction[];
  /** Indicators the liveness endpoint checks (only what a restart would fix; never downstreams). */
  liveness?: HealthIndicatorFunction[];
  /** How long the drain waits for the load balancer to notice. */
  lb?: LoadBalancerOptions;
  /**
   * Hard deadline of the HTTP drain, from the trigger, in ms: requests still in flight then have their connections
   * destroyed. Must exceed the load-balancer wait. Default `25000` (under Kubernetes' 30 s grace); 1..3600000.
   */
  deadlineMs?: number;
  /** Bound on the `onDrained` hooks plus the Nest shutdown after the HTTP drain, in ms. Default `5000`; 1..600000. */
  shutdownTimeoutMs?: number;
  /** `process.exit` code after a programmatic or admin drain, or `false` to leave the process alone. Default `false`. */
  exitCode?: number | false;
  /** The admin endpoint's token; required when the `adminPath` extra is set. */
  admin?: DrainAdminOptions;
  /** The HAProxy agent-check responder; off by default. */
  agent?: AgentCheckOptions | false;
}

/**
 * Extras of the module definition: the endpoints are mounted when the module is declared, so their paths are
 * given beside `useFactory` in `forRootAsync` too.
 *
 * @publicApi
 */
export interface HealthModuleExtras {
  /** Global module (default `true`), so any module can inject `DrainService`. */
  isGlobal?: boolean;
  /** Readiness endpoint path, or `false` for none. Default `/health/ready`. */
  readinessPath?: string | false;
  /** Liveness endpoint path, or `false` for none. Default `/health/live`. */
  livenessPath?: string | false;
  /** `POST` here (with the admin token) starts a drain. Default `false`: no admin endpoint. */
  adminPath?: string | false;
}

/** Paths after validation. */
export interface ResolvedHealthPaths {
  readinessPath: string | false;
  livenessPath: string | false;
  adminPath: string | false;
}

/** Options after defaults and validation. */
export interface ResolvedHealthOptions {
  readiness: HealthIndicatorFunction[];
  liveness: HealthIndicatorFunction[];
  lb: {
    delayMs: number;
    fall: number;
    intervalMs: number;
    marginMs: number;
    probes: number | false;
  };
  /** `max(delayMs, min(fall × intervalMs, agent.intervalMs) + marginMs)`, in ms. */
  lbWaitMs: number;
  deadlineMs: number;
  shutdownTimeoutMs: number;
  exitCode: number | false;
  admin: { token: string; exitCode: number | false } | undefined;
  agent: { port: number; host: string | undefined; intervalMs: number } | false;
}
