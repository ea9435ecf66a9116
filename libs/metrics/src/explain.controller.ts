import {
  BadRequestException,
  Controller,
  Get,
  Headers,
  Query,
  Res,
  type Type,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { OpsEndpoint } from '@steady/core';
import { renderExplainHtml } from './explain.html';
import { ExplainService } from './explain.service';

/**
 * `GET /ops/explain`: JSON by default, the HTML page when the client prefers `text/html` (a browser) or asks
 * with `?format=html`. `?snapshots=1` adds the window's raw snapshots to the JSON (to record an incident).
 *
 * @publicApi
 */
@OpsEndpoint()
export class ExplainController {
  constructor(
    protected readonly explain: ExplainService,
    protected readonly adapterHost: HttpAdapterHost,
  ) {}

  @Get()
  async get(
    @Res({ passthrough: true }) res: object,
    @Headers('accept') accept?: string,
    @Query('format') format?: string,
    @Query('snapshots') snapshots?: string,
  ): Promise<unknown> {
    if (format !== undefined && format !== 'json' && format !== 'html') {
      throw new BadRequestException('format must be "json" or "html"');
    }
    if (snapshots !== undefined && snapshots !== '0' && snapshots !== '1') {
      throw new BadRequestException('snapshots must be "0" or "1"');
    }
    const html = format === 'html' || (format === undefined && prefersHtml(accept));
    const adapter = this.adapterHost.httpAdapter;
    adapter.setHeader(res, 'Cache-Control', 'no-store');
    adapter.setHeader(res, 'Vary', 'Accept');
    if (html) {
      const report = await this.explain.report();
      adapter.setHeader(res, 'Content-Type', 'text/html; charset=utf-8');
      return renderExplainHtml(report);
    }
    adapter.setHeader(res, 'Content-Type', 'application/json; charset=utf-8');
    if (snapshots === '1') return JSON.stringify(await this.explain.reportWithSnapshots());
    return JSON.stringify(await this.explain.report());
  }
}

/** Whether `text/html` is acceptable and preferred over `application/json` (q-values honoured). */
export function prefersHtml(accept: string | undefined): boolean {
  if (!accept) return false;
  let html = 0;
  let json = 0;
  for (const part of accept.split(',')) {
    const [type, ...params] = part.trim().toLowerCase().split(';');
    const qParam = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    const q = qParam ? Number(qParam.slice(2)) : 1;
    if (!Number.isFinite(q)) continue;
    if (type === 'text/html') html = Math.max(html, q);
    else if (type === 'application/json') json = Math.max(json, q);
  }
  return html > 0 && html > json;
}

/** A controller class mounted at `path`. */
export function createExplainController(path: string): Type<ExplainController> {
  @Controller(path)
  class SteadyExplainController extends ExplainController {}
  return SteadyExplainController;
}
