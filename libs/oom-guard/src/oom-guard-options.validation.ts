import { OptionValidator } from '@steady/core';
import { accessSync, constants, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  DEFAULT_OOM_EXIT_CODE,
  DEFAULT_YOUNG_GENERATION_RESERVE_BYTES,
  OOM_GUARD_MODULE_NAME,
} from './oom-guard.constants';
import type {
  MemoryKind,
  OomGuardModuleOptions,
  ResolvedOomGuardOptions,
} from './oom-guard-options.interface';

const KNOWN: readonly (keyof OomGuardModuleOptions)[] = [
  'oldGen',
  'cgroup',
  'hysteresis',
  'confirmMs',
  'directory',
  'snapshot',
  'report',
  'exitCode',
  'drainTimeoutMs',
  'hardDeadlineMs',
  'lastWords',
  'lastWordsTimeoutMs',
  'youngGenerationReserveBytes',
  'cgroupRoot',
  'procSelfCgroup',
  'clock',
  'observeGc',
  'fallbacks',
  'dryRun',
];

/** Defaults from the measurements in docs/oom-guard.md (V8 aborts at ~77 % old-gen with a 128 MiB old space). */
const DEFAULT_THRESHOLDS: Record<MemoryKind, { warning: number; action: number }> = {
  old_gen: { warning: 0.6, action: 0.7 },
  cgroup: { warning: 0.7, action: 0.8 },
};

/**
 * Applies defaults and validates; throws a `SteadyOptionsError` naming the first bad option (thresholds in (0, 1)
 * with warning < action, the directory existing and writable now).
 */
export function resolveOomGuardOptions(
  options: OomGuardModuleOptions = {},
): ResolvedOomGuardOptions {
  const v = new OptionValidator(OOM_GUARD_MODULE_NAME);
  v.knownKeys(options, KNOWN);
  const ms = (name: string, value: unknown, fallback: number, min: number, max: number) =>
    v.number(name, value, fallback, { min, max, integer: true, unit: 'ms' });
  const object = (name: string, value: unknown, known: readonly string[]) => {
    if (value === undefined) return {} as Record<string, unknown>;
    v.check(
      typeof value === 'object' && value !== null && !Array.isArray(value),
      name,
      'an object',
      value,
    );
    for (const key of Object.keys(value as object)) {
      v.check(
        known.includes(key),
        `${name}.${key}`,
        `a known option of ${name} (${known.join(', ')})`,
        (value as Record<string, unknown>)[key],
      );
    }
    return value as Record<string, unknown>;
  };

  const thresholds = {} as ResolvedOomGuardOptions['thresholds'];
  for (const [kind, option] of [
    ['old_gen', 'oldGen'],
    ['cgroup', 'cgroup'],
  ] as const) {
    const raw = object(option, options[option], ['warning', 'action', 'critical']);
    const range = { greaterThan: 0, lessThan: 1 };
    const action = v.number(`${option}.action`, raw.action, DEFAULT_THRESHOLDS[kind].action, range);
    const fallbackWarning = Math.min(DEFAULT_THRESHOLDS[kind].warning, action * 0.9);
    const warning = v.number(`${option}.warning`, raw.warning, fallbackWarning, range);
    v.check(
      warning < action,
      `${option}.warning`,
      `less than ${option}.action (${action})`,
      warning,
    );
    const critical = v.number(`${option}.critical`, raw.critical, action + (1 - action) / 2, range);
    v.check(
      critical > action,
      `${option}.critical`,
      `more than ${option}.action (${action})`,
      critical,
    );
    thresholds[kind] = { warning, action, critical };
  }

  const directory = resolve(
    v.string('directory', options.directory, tmpdir(), /^.+$/, 'a directory path'),
  );
  checkDirectory(v, 'directory', directory);

  let snapshot: ResolvedOomGuardOptions['snapshot'] = {
    enabled: true,
    headroomFactor: 6,
    msPerMiB: 100,
  };
  if (options.snapshot === false) snapshot = { ...snapshot, enabled: false };
  else {
    const raw = object('snapshot', options.snapshot, ['enabled', 'headroomFactor', 'msPerMiB']);
    snapshot = {
      enabled: v.boolean('snapshot.enabled', raw.enabled, true),
      headroomFactor: v.number('snapshot.headroomFactor', raw.headroomFactor, 6, {
        min: 1,
        max: 100,
      }),
      msPerMiB: v.number('snapshot.msPerMiB', raw.msPerMiB, 100, { min: 1, max: 10_000 }),
    };
  }

  const fallbacksRaw = object('fallbacks', options.fallbacks, [
    'reportOnFatalError',
    'nearHeapLimitSnapshot',
  ]);
  const hardDeadlineMs = ms('hardDeadlineMs', options.hardDeadlineMs, 60_000, 1_000, 3_600_000);
  const drainTimeoutMs = ms(
    'drainTimeoutMs',
    options.drainTimeoutMs,
    Math.min(30_000, hardDeadlineMs - 500),
    1,
    600_000,
  );
  v.check(
    drainTimeoutMs < hardDeadlineMs,
    'drainTimeoutMs',
    `less than hardDeadlineMs (${hardDeadlineMs} ms)`,
    drainTimeoutMs,
  );
  const procSelfCgroup = v.string(
    'procSelfCgroup',
    options.procSelfCgroup,
    '/proc/self/cgroup',
    /^\//,
    'an absolute path',
  );
  const cgroupRoot = v.string(
    'cgroupRoot',
    options.cgroupRoot,
    '/sys/fs/cgroup',
    /^\//,
    'an absolute path',
  );
  v.check(isAbsolute(cgroupRoot), 'cgroupRoot', 'an absolute path', cgroupRoot);

  return {
    thresholds,
    hysteresis: v.number('hysteresis', options.hysteresis, 0.05, { min: 0, max: 0.5 }),
    confirmMs: ms('confirmMs', options.confirmMs, 1_000, 0, 60_000),
    directory,
    snapshot,
    report: v.boolean('report', options.report, true),
    exitCode: v.number('exitCode', options.exitCode, DEFAULT_OOM_EXIT_CODE, {
      min: 1,
      max: 255,
      integer: true,
    }),
    drainTimeoutMs,
    hardDeadlineMs,
    lastWords: v.function('lastWords', options.lastWords),
    lastWordsTimeoutMs: ms('lastWordsTimeoutMs', options.lastWordsTimeoutMs, 2_000, 1, 60_000),
    youngGenerationReserveBytes: v.number(
      'youngGenerationReserveBytes',
      options.youngGenerationReserveBytes,
      DEFAULT_YOUNG_GENERATION_RESERVE_BYTES,
      { min: 0, max: 2 ** 40, integer: true, unit: 'bytes' },
    ),
    cgroupRoot,
    procSelfCgroup,
    clock: v.function<() => number>('clock', options.clock) ?? (() => performance.now()),
    observeGc: v.boolean('observeGc', options.observeGc, true),
    fallbacks: {
      reportOnFatalError: v.boolean(
        'fallbacks.reportOnFatalError',
        fallbacksRaw.reportOnFatalError,
        false,
      ),
      nearHeapLimitSnapshot: v.boolean(
        'fallbacks.nearHeapLimitSnapshot',
        fallbacksRaw.nearHeapLimitSnapshot,
        false,
      ),
    },
    dryRun: v.boolean('dryRun', options.dryRun, false),
  };
}

function checkDirectory(v: OptionValidator, name: string, dir: string): void {
  let problem: string | undefined;
  try {
    if (!statSync(dir).isDirectory()) problem = 'not a directory';
    else accessSync(dir, constants.W_OK);
  } catch (err) {
    problem ??= (err as NodeJS.ErrnoException).code ?? (err as Error).message;
  }
  v.check(
    problem === undefined,
    name,
    `an existing, writable directory (${problem ?? ''} for ${dir})`,
    dir,
  );
}
