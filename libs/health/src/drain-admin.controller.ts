import {
  BadRequestException,
  Body,
  Controller,
  ForbiddenException,
  Headers,
  HttpCode,
  Inject,
  Post,
  UnauthorizedException,
  type Type,
} from '@nestjs/common';
import { OpsEndpoint } from '@steady/core';
import { createHash, timingSafeEqual } from 'node:crypto';
import { DrainService } from './drain.service';
import { STEADY_HEALTH_OPTIONS } from './health.constants';
import type { ResolvedHealthOptions } from './health-options.interface';

const REASON = /^[A-Za-z0-9 _.:-]{1,100}$/;

/** The answer of the admin endpoint. */
export interface DrainAdminResponse {
  /** `false` when a drain was already under way (this request joined it). */
  started: boolean;
  state: string;
  reason: string | undefined;
  inFlight: number;
}

/**
 * `POST <adminPath>` with `Authorization: Bearer <token>` and an optional JSON body `{ "reason": "deploy" }` starts
 * a drain — the `lb_out.sh` of the seed, over HTTP. `202` with the drain state; a repeated call joins the drain under
 * way (`started: false`). `401` without a bearer token, `403` with a wrong one, `400` for a bad reason.
 *
 * @publicApi
 */
@OpsEndpoint()
export class DrainAdminController {
  private readonly tokenDigest: Buffer;

  constructor(
    protected readonly drain: DrainService,
    @Inject(STEADY_HEALTH_OPTIONS) protected readonly options: ResolvedHealthOptions,
  ) {
    this.tokenDigest = digest(options.admin?.token ?? '');
  }

  @Post()
  @HttpCode(202)
  start(
    @Headers('authorization') authorization: string | undefined,
    @Body() body: unknown,
  ): DrainAdminResponse {
    this.authorize(authorization);
    const reason = parseReason(body);
    const started = this.drain.isServing;
    void this.drain.start({
      source: 'admin',
      reason,
      exit: this.options.admin?.exitCode ?? this.options.exitCode,
    });
    const s = this.drain.status();
    return { started, state: s.state, reason: s.reason, inFlight: s.inFlight };
  }

  /** Throws 401/403 unless the request carries the configured bearer token. */
  protected authorize(authorization: string | undefined): void {
    const match = /^Bearer ([\x21-\x7e]+)$/i.exec(authorization?.trim() ?? '');
    if (!match) {
      throw new UnauthorizedException('Send the admin token as "Authorization: Bearer <token>"');
    }
    if (!this.options.admin || !timingSafeEqual(digest(match[1]!), this.tokenDigest)) {
      throw new ForbiddenException('Wrong admin token');
    }
  }
}

function parseReason(body: unknown): string {
  if (body === undefined || body === null || body === '') return 'admin';
  if (typeof body !== 'object' || Array.isArray(body)) {
    throw new BadRequestException('The body must be a JSON object { "reason"?: string }');
  }
  const keys = Object.keys(body);
  const unknown = keys.filter((k) => k !== 'reason');
  if (unknown.length > 0) {
    throw new BadRequestException(
      `Unknown field(s): ${unknown.join(', ')}; only "reason" is allowed`,
    );
  }
  const reason = (body as { reason?: unknown }).reason;
  if (reason === undefined) return 'admin';
  if (typeof reason !== 'string' || !REASON.test(reason)) {
    throw new BadRequestException(
      'reason must be 1..100 characters of letters, digits, space, "_", ".", ":" or "-"',
    );
  }
  return reason;
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

/** An admin controller class mounted at `path`. */
export function createDrainAdminController(path: string): Type<DrainAdminController> {
  @Controller(path)
  class SteadyDrainAdminController extends DrainAdminController {}
  return SteadyDrainAdminController;
}
