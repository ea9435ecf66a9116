import { Inject, Injectable, Optional } from '@nestjs/common';
import { MetricsSink, type SteadyHistogram } from '@steady/core';
import { setTimeout as sleep } from 'node:timers/promises';
import { SAMPLE_CONFIG, type SampleConfig } from '../sample.config';
import { BoundedPool, PoolSaturatedError, PoolTimeoutError } from './bounded-pool';

export interface ScanResult {
  spam: boolean;
}

const SPAMMY = /\b(viagra|lottery|you are a winner|crypto giveaway)\b/i;

/**
 * The simulated downstream: a spam scanner that takes `latencyMs` per mail and allows `poolSize` scans at a
 * time. Make it slow (`SPAM_SCANNER_LATENCY_MS=2000`) and POST /mails piles up in flight — the seed incident.
 */
@Injectable()
export class SpamScannerService {
  readonly pool: BoundedPool;
  private latencyMs: number;
  private readonly duration?: SteadyHistogram;

  constructor(
    @Inject(SAMPLE_CONFIG) config: SampleConfig,
    @Optional() @Inject(MetricsSink) metrics?: MetricsSink,
  ) {
    const { poolSize, queueLimit, timeoutMs, latencyMs } = config.spamScanner;
    this.pool = new BoundedPool(poolSize, queueLimit, timeoutMs);
    this.latencyMs = latencyMs;
    const pool = this.pool;
    this.duration = metrics?.histogram({
      name: 'sample_spam_scan_duration_seconds',
      help: 'Time POST /mails spent on the spam scanner, waiting for a slot included',
      labelNames: ['outcome'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    });
    metrics?.gauge({
      name: 'sample_spam_scanner_pool_in_use',
      help: 'Spam scanner pool slots in use',
      collect: (g) => g.set(undefined, pool.inUse),
    });
    metrics?.gauge({
      name: 'sample_spam_scanner_pool_size',
      help: 'Spam scanner pool slots in all',
      collect: (g) => g.set(undefined, pool.size),
    });
    metrics?.gauge({
      name: 'sample_spam_scanner_queue_depth',
      help: 'Scans waiting for a spam scanner pool slot',
      collect: (g) => g.set(undefined, pool.queued),
    });
  }

  /** Current simulated latency, in ms. */
  get latency(): number {
    return this.latencyMs;
  }

  /** Changes the simulated latency at run time (the incident drill). */
  setLatency(ms: number): void {
    this.latencyMs = ms;
  }

  async scan(subject: string, body: string): Promise<ScanResult> {
    const started = performance.now();
    let outcome = 'ok';
    try {
      return await this.pool.run(async () => {
        if (this.latencyMs > 0) await sleep(this.latencyMs);
        return { spam: SPAMMY.test(subject) || SPAMMY.test(body) };
      });
    } catch (err) {
      outcome =
        err instanceof PoolSaturatedError
          ? 'saturated'
          : err instanceof PoolTimeoutError
            ? 'timeout'
            : 'error';
      throw err;
    } finally {
      this.duration?.observe({ outcome }, (performance.now() - started) / 1000);
    }
  }
}
