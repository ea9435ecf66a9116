import { readFileSync } from 'node:fs';
import { totalmem } from 'node:os';
import { join } from 'node:path';

/** The container memory limit as the cgroup filesystem shows it. @publicApi */
export interface CgroupMemory {
  /** `1` (memory controller hierarchy), `2` (unified), or `undefined` when no memory cgroup was found. */
  readonly version: 1 | 2 | undefined;
  /** The limit in bytes; `undefined` for "no limit" (`max`, v1's 2^63-ish, or at least the host's memory). */
  readonly limit: number | undefined;
  /** Current usage in bytes (v2 `memory.current`, v1 `memory.usage_in_bytes`; includes page cache). */
  readonly usage: number | undefined;
  /** The directory the figures were read from. */
  readonly dir: string | undefined;
}

const NONE: CgroupMemory = {
  version: undefined,
  limit: undefined,
  usage: undefined,
  dir: undefined,
};

/**
 * Reads the memory limit of this process's cgroup: v1 (`<root>/memory/<path>/memory.limit_in_bytes`) when
 * `/proc/self/cgroup` names a memory controller, else v2 (`<root>/<path>/memory.max`); when the process's own
 * path is not visible (a container sees its cgroup at the root) the root's files are read. "No limit" values
 * (`max`, 9223372036854771712, anything ≥ the host's memory) give `limit: undefined`. Never throws.
 *
 * @param root the cgroup filesystem, `/sys/fs/cgroup`
 * @param procSelfCgroup `/proc/self/cgroup`
 * @param hostMemory bytes of the host (default `os.totalmem()`)
 *
 * @publicApi
 */
export function readCgroupMemory(
  root = '/sys/fs/cgroup',
  procSelfCgroup = '/proc/self/cgroup',
  hostMemory = totalmem(),
): CgroupMemory {
  const lines = readText(procSelfCgroup)?.split('\n') ?? [];
  let v1Path: string | undefined;
  let v2Path: string | undefined;
  for (const line of lines) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line.trim());
    if (!m) continue;
    if (m[2]!.split(',').includes('memory')) v1Path = m[3];
    else if (m[1] === '0' && m[2] === '') v2Path = m[3];
  }
  if (v1Path !== undefined) {
    for (const dir of candidates(join(root, 'memory'), v1Path)) {
      const raw = readText(join(dir, 'memory.limit_in_bytes'));
      if (raw === undefined) continue;
      return {
        version: 1,
        limit: parseLimit(raw, hostMemory),
        usage: parseBytes(readText(join(dir, 'memory.usage_in_bytes'))),
        dir,
      };
    }
  }
  if (v2Path !== undefined || readText(join(root, 'cgroup.controllers')) !== undefined) {
    for (const dir of candidates(root, v2Path ?? '/')) {
      const raw = readText(join(dir, 'memory.max'));
      if (raw === undefined) continue;
      return {
        version: 2,
        limit: parseLimit(raw, hostMemory),
        usage: parseBytes(readText(join(dir, 'memory.current'))),
        dir,
      };
    }
  }
  return NONE;
}

/** The process's own directory first, then the root (what a container usually sees). */
function candidates(base: string, path: string): string[] {
  const own = join(base, path);
  return own === base ? [base] : [own, base];
}

function parseLimit(raw: string, hostMemory: number): number | undefined {
  const value = raw.trim();
  if (value === 'max' || value === '') return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) return undefined;
  // v1 reports "no limit" as 9223372036854771712 (2^63 rounded to a page); a limit above the host is no limit either
  if (n >= 2 ** 62 || (hostMemory > 0 && n >= hostMemory)) return undefined;
  return n;
}

function parseBytes(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw.trim());
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}
