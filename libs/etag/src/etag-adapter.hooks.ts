import { Injectable, Logger, Optional, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { detectAdapter } from '@steady/core';
import type { ServerResponse } from 'node:http';
import { ETAG_STATE, type EtagTrackedRequest } from './etag-request-state';
import { EtagService, PRECONDITION_FAILED_BODY, SendAction, type HeaderOps } from './etag.service';

const INSTALLED = Symbol.for('steady.etag.installed');

/** Headers of a Node response (Express's `res` is one). */
const NODE_HEADERS: HeaderOps<ServerResponse> = {
  get: (res, name) => res.getHeader(name),
  set: (res, name, value) => res.setHeader(name, value),
  remove: (res, name) => res.removeHeader(name),
};

/** The parts of a Fastify reply used here. */
interface FastifyReplyLike {
  statusCode: number;
  raw: ServerResponse;
  getHeader(name: string): unknown;
  header(name: string, value: string): unknown;
  removeHeader(name: string): unknown;
  code(status: number): unknown;
}

/** Headers of a Fastify reply (kept by Fastify until it writes the head). */
const FASTIFY_HEADERS: HeaderOps<FastifyReplyLike> = {
  get: (reply, name) => reply.getHeader(name),
  set: (reply, name, value) => void reply.header(name, value),
  remove: (reply, name) => void reply.removeHeader(name),
};

type ExpressSend = (this: ServerResponse & { req: EtagTrackedRequest }, body?: unknown) => unknown;

interface ExpressAppLike {
  set(setting: string, value: unknown): unknown;
  request: object;
  response: { send: ExpressSend };
}

interface FastifyLike {
  addHook(
    name: 'onSend',
    hook: (
      request: { raw: EtagTrackedRequest },
      reply: FastifyReplyLike,
      payload: unknown,
      done: (err?: Error | null, payload?: unknown) => void,
    ) => void,
  ): unknown;
}

/**
 * Where the body is sent — Express's `res.send` and Fastify's `onSend` hook — `@steady/etag` finishes what the
 * interceptor started: the shallow tag of the serialized body, the validator and Cache-Control headers of 2xx
 * answers, the conditional evaluation left for send time, and the clean-up of 304s. On Express it also takes
 * conditional requests away from Express itself (its `etag` setting and `req.fresh`), unless
 * `replaceExpressEtag: false`. Installed once per app at module init; requests the interceptor did not mark
 * pass straight through.
 *
 * @publicApi
 */
@Injectable()
export class EtagAdapterHooks implements OnModuleInit {
  protected readonly logger = new Logger('Etag');

  constructor(
    protected readonly etag: EtagService,
    @Optional() protected readonly adapterHost?: HttpAdapterHost,
  ) {}

  onModuleInit(): void {
    const adapter = this.adapterHost?.httpAdapter;
    const type = detectAdapter(adapter);
    if (adapter === undefined || type === undefined) return;
    const instance = adapter.getInstance() as (ExpressAppLike | FastifyLike) & {
      [INSTALLED]?: true;
    };
    if (instance[INSTALLED]) return;
    instance[INSTALLED] = true;
    if (type === 'express') this.installExpress(instance as ExpressAppLike);
    else this.installFastify(instance as FastifyLike);
  }

  protected installExpress(app: ExpressAppLike): void {
    if (this.etag.options.replaceExpressEtag) {
      // Express must neither tag bodies nor answer 304 from `fresh` (which honours request no-cache and knows
      // no 412): one behaviour on both adapters, decided here.
      app.set('etag', false);
      Object.defineProperty(app.request, 'fresh', {
        configurable: true,
        enumerable: true,
        get: () => false,
      });
    }
    const etag = this.etag;
    const original = app.response.send;
    app.response.send = function steadyEtagSend(body?: unknown) {
      const state = this.req?.[ETAG_STATE];
      if (
        state === undefined ||
        state.finalized ||
        // Objects, numbers and booleans come back here as a JSON string through res.json().
        (body !== undefined &&
          body !== null &&
          typeof body !== 'string' &&
          !ArrayBuffer.isView(body))
      ) {
        return original.call(this, body);
      }
      const action = etag.finalize(this.req, state, this.statusCode, body, this, NODE_HEADERS);
      if (action === SendAction.NotModified) {
        this.statusCode = 304;
        return original.call(this, undefined); // Express drops Content-Type/Length and the body on 304
      }
      if (action === SendAction.PreconditionFailed) {
        this.statusCode = 412;
        this.setHeader('Content-Type', 'application/json; charset=utf-8');
        return original.call(this, PRECONDITION_FAILED_BODY);
      }
      return original.call(this, body);
    };
  }

  protected installFastify(fastify: FastifyLike): void {
    const etag = this.etag;
    fastify.addHook('onSend', (request, reply, payload, done) => {
      const req = request.raw;
      const state = req[ETAG_STATE];
      if (state === undefined || state.finalized) {
        done();
        return;
      }
      const action = etag.finalize(req, state, reply.statusCode, payload, reply, FASTIFY_HEADERS);
      if (action === SendAction.NotModified) {
        reply.code(304);
        destroyStream(payload);
        if (req.method === 'HEAD') {
          // Fastify's HEAD hook runs after this one and sets Content-Length from the payload; a 304 must not
          // carry one that is not the 200's (RFC 9110 §8.6), so it is dropped when the head is written.
          dropContentLengthOnWriteHead(reply.raw);
          done(null, '');
        } else {
          done(null, null);
        }
        return;
      }
      if (action === SendAction.PreconditionFailed) {
        reply.code(412);
        reply.header('content-type', 'application/json; charset=utf-8');
        destroyStream(payload);
        done(null, PRECONDITION_FAILED_BODY);
        return;
      }
      done();
    });
  }
}

function destroyStream(payload: unknown): void {
  const s = payload as { destroy?: () => void; pipe?: unknown } | null;
  if (
    s !== null &&
    typeof s === 'object' &&
    typeof s.pipe === 'function' &&
    typeof s.destroy === 'function'
  ) {
    s.destroy();
  }
}

function dropContentLengthOnWriteHead(res: ServerResponse): void {
  const writeHead = res.writeHead;
  res.writeHead = function (this: ServerResponse, ...args: unknown[]) {
    res.writeHead = writeHead;
    const headers = args[args.length - 1];
    if (headers !== null && typeof headers === 'object' && !Array.isArray(headers)) {
      delete (headers as Record<string, unknown>)['content-length'];
    }
    this.removeHeader('content-length');
    return (writeHead as (...a: unknown[]) => ServerResponse).apply(this, args);
  } as ServerResponse['writeHead'];
}
