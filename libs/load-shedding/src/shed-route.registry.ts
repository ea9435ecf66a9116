import { Injectable, Logger, RequestMethod, VERSION_NEUTRAL, VersioningType } from '@nestjs/common';
import {
  GUARDS_METADATA,
  METHOD_METADATA,
  MODULE_PATH,
  PATH_METADATA,
  VERSION_METADATA,
} from '@nestjs/common/constants.js';
import {
  ApplicationConfig,
  DiscoveryService,
  MetadataScanner,
  ModulesContainer,
  Reflector,
} from '@nestjs/core';
import { STEADY_OPS_ENDPOINT } from '@steady/core';
import { pathToRegexp } from 'path-to-regexp';
import { STEADY_SHED_ROUTE, STEADY_SKIP_SHED } from './load-shedding.constants';
import type { ShedRouteOptions } from './load-shedding-options.interface';

/** What the registry knows of a route. */
export interface ShedRouteInfo {
  /** Never shed (`@SkipShed()`, or an ops endpoint). */
  readonly skip: boolean;
  /** Has `@Shed()` or `ShedGuard` (eligible when the module is not global). */
  readonly guarded: boolean;
  readonly options: ShedRouteOptions;
}

interface Entry extends ShedRouteInfo {
  readonly method: string | undefined; // undefined: any method
  readonly regexp: RegExp;
  readonly path: string;
}

const DEFAULT: ShedRouteInfo = Object.freeze({ skip: false, guarded: false, options: {} });

/**
 * Maps a raw request (method + URL) to the shedding metadata of its route, before Nest routes it, so the
 * admission hook can honour `@SkipShed()`, `@Shed({ priority })` and ops endpoints without waiting for routing
 * and body parsing. Built once at bootstrap from the controllers' metadata (global prefix, `RouterModule` paths
 * and URI versioning included); only routes with shedding metadata are kept, so lookups stay short.
 */
@Injectable()
export class ShedRouteRegistry {
  protected readonly logger = new Logger('LoadShedding');
  private entries: Entry[] = [];

  constructor(
    protected readonly discovery: DiscoveryService,
    protected readonly scanner: MetadataScanner,
    protected readonly reflector: Reflector,
    protected readonly config: ApplicationConfig,
    protected readonly modules: ModulesContainer,
  ) {}

  /** Routes with shedding metadata, as compiled (for diagnostics and tests). */
  get routes(): ReadonlyArray<{ method: string | undefined; path: string } & ShedRouteInfo> {
    return this.entries;
  }

  /** Scans the controllers. Called by the admission hook at bootstrap. */
  build(skipOpsEndpoints: boolean, guardType: Function): void {
    const entries: Entry[] = [];
    for (const wrapper of this.discovery.getControllers()) {
      const controller = wrapper.metatype as Function | undefined;
      if (!controller || !wrapper.instance) continue;
      const prototype = Object.getPrototypeOf(wrapper.instance) as object;
      const modulePath = this.modulePath(wrapper.host?.metatype);
      for (const name of this.scanner.getAllMethodNames(prototype)) {
        const handler = (prototype as Record<string, unknown>)[name] as Function;
        const methodPath = Reflect.getMetadata(PATH_METADATA, handler) as
          string | string[] | undefined;
        if (methodPath === undefined) continue;
        const targets = [handler, controller];
        const skip =
          this.reflector.getAllAndOverride<boolean>(STEADY_SKIP_SHED, targets) === true ||
          (skipOpsEndpoints &&
            this.reflector.getAllAndOverride<boolean>(STEADY_OPS_ENDPOINT, targets) === true);
        const options = this.reflector.getAllAndOverride<ShedRouteOptions>(
          STEADY_SHED_ROUTE,
          targets,
        );
        const guards = [
          ...((Reflect.getMetadata(GUARDS_METADATA, handler) as unknown[]) ?? []),
          ...((Reflect.getMetadata(GUARDS_METADATA, controller) as unknown[]) ?? []),
        ];
        const guarded =
          options !== undefined || guards.some((g) => g === guardType || g instanceof guardType);
        if (!skip && !guarded) continue;
        const requestMethod = Reflect.getMetadata(METHOD_METADATA, handler) as
          RequestMethod | undefined;
        const method =
          requestMethod === undefined || requestMethod === RequestMethod.ALL
            ? undefined
            : RequestMethod[requestMethod];
        const version =
          (Reflect.getMetadata(VERSION_METADATA, handler) as unknown) ??
          (Reflect.getMetadata(VERSION_METADATA, controller) as unknown);
        const controllerPath = Reflect.getMetadata(PATH_METADATA, controller) as
          string | string[] | undefined;
        for (const path of this.fullPaths(
          modulePath,
          controllerPath,
          methodPath,
          version,
          method,
        )) {
          try {
            const { regexp } = pathToRegexp(path, { sensitive: false, trailing: true, end: true });
            entries.push({ method, regexp, path, skip, guarded, options: options ?? {} });
            if (method === 'GET')
              entries.push({ method: 'HEAD', regexp, path, skip, guarded, options: options ?? {} });
          } catch (err) {
            this.logger.warn(
              `cannot match route ${path} before routing (${(err as Error).message}); the guard decides for it`,
            );
          }
        }
      }
    }
    this.entries = entries;
  }

  /** The route info of a raw request; routes without shedding metadata get the default. */
  lookup(method: string | undefined, url: string | undefined): ShedRouteInfo {
    if (this.entries.length === 0 || url === undefined) return DEFAULT;
    const q = url.indexOf('?');
    let path = q === -1 ? url : url.slice(0, q);
    try {
      if (path.includes('%')) path = decodeURI(path);
    } catch {
      // a malformed escape: match the raw path
    }
    for (const e of this.entries) {
      if (e.method !== undefined && e.method !== method) continue;
      if (e.regexp.test(path)) return e;
    }
    return DEFAULT;
  }

  private modulePath(metatype: Function | undefined): string | undefined {
    if (!metatype) return undefined;
    const id = (this.modules as unknown as { applicationId?: string }).applicationId ?? '';
    return (
      (Reflect.getMetadata(MODULE_PATH + id, metatype) as string | undefined) ??
      (Reflect.getMetadata(MODULE_PATH, metatype) as string | undefined)
    );
  }

  private fullPaths(
    modulePath: string | undefined,
    controllerPath: string | string[] | undefined,
    methodPath: string | string[],
    version: unknown,
    method: string | undefined,
  ): string[] {
    const prefix = this.globalPrefixFor(controllerPath, methodPath, method);
    const versions = this.versionSegments(version);
    const out: string[] = [];
    for (const c of toArray(controllerPath ?? '/')) {
      for (const m of toArray(methodPath)) {
        for (const v of versions) out.push(joinPath([prefix, modulePath, v, c, m]));
      }
    }
    return out;
  }

  private globalPrefixFor(
    controllerPath: string | string[] | undefined,
    methodPath: string | string[],
    method: string | undefined,
  ): string {
    const prefix = this.config.getGlobalPrefix();
    if (!prefix) return '';
    const exclude = this.config.getGlobalPrefixOptions()?.exclude ?? [];
    if (exclude.length === 0) return prefix;
    const full = joinPath([toArray(controllerPath ?? '/')[0], toArray(methodPath)[0]]);
    const excluded = exclude.some((e) => {
      const info = e as { path?: string; requestMethod?: RequestMethod };
      const sameMethod =
        info.requestMethod === undefined ||
        info.requestMethod === RequestMethod.ALL ||
        RequestMethod[info.requestMethod] === method;
      return sameMethod && info.path !== undefined && joinPath([info.path]) === full;
    });
    return excluded ? '' : prefix;
  }

  private versionSegments(version: unknown): (string | undefined)[] {
    const versioning = this.config.getVersioning();
    if (!versioning || versioning.type !== VersioningType.URI) return [undefined];
    const versionPrefix = versioning.prefix === false ? '' : (versioning.prefix ?? 'v');
    const chosen = version ?? versioning.defaultVersion;
    if (chosen === undefined) return [undefined];
    return toArray(chosen as string | symbol | (string | symbol)[]).map((v) =>
      v === VERSION_NEUTRAL ? undefined : `${versionPrefix}${String(v)}`,
    );
  }
}

function toArray<T>(x: T | T[]): T[] {
  return Array.isArray(x) ? x : [x];
}

function joinPath(parts: (string | undefined)[]): string {
  const segments = parts
    .filter((p): p is string => typeof p === 'string' && p.length > 0)
    .map((p) => p.replace(/^\/+|\/+$/g, ''))
    .filter((p) => p.length > 0);
  return `/${segments.join('/')}`;
}
