import { Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { WsBackpressureService } from './ws-backpressure.service';

/**
 * The outbound bytes the app holds for its WebSocket clients (Σ `bufferedAmount` + queued) as a Terminus health
 * indicator: `down` above `threshold`. The kernel's send buffers (up to ~4 MiB per slow socket) are not
 * included — they are not in the heap or RSS either.
 *
 * @example
 * @Get('health/ws')
 * @HealthCheck()
 * check() {
 *   return this.health.check([() => this.ws.checkBufferedBytes('ws_backpressure', 64 * 1024 * 1024)]);
 * }
 *
 * @publicApi
 */
@Injectable()
export class WsBackpressureHealthIndicator {
  constructor(
    private readonly healthIndicatorService: HealthIndicatorService,
    private readonly service: WsBackpressureService,
  ) {}

  /**
   * @param key the key of the result
   * @param threshold the most bytes (buffered + queued, all clients) that still count as healthy
   * @returns `up` or `down`, with `bufferedBytes`, `queuedBytes`, `threshold`, `clients`, `unwritableClients`
   */
  checkBufferedBytes<const Key extends string>(
    key: Key,
    threshold: number,
  ): HealthIndicatorResult<Key> {
    const check = this.healthIndicatorService.check(key);
    const s = this.service.stats();
    const data = {
      bufferedBytes: s.bufferedBytes,
      queuedBytes: s.queuedBytes,
      threshold,
      clients: s.clients,
      unwritableClients: s.unwritableClients,
    };
    return s.bufferedBytes + s.queuedBytes > threshold ? check.down(data) : check.up(data);
  }
}
