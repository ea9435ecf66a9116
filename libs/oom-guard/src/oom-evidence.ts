import {
  closeSync,
  fsyncSync,
  openSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { freemem } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { writeHeapSnapshot } from 'node:v8';
import type { MemoryReading } from './oom-guard-options.interface';

const MiB = 1024 * 1024;

/** What became of the heap snapshot. @publicApi */
export interface SnapshotOutcome {
  readonly result: 'written' | 'skipped' | 'failed';
  readonly path?: string;
  readonly bytes?: number;
  /** Why it was skipped or failed. */
  readonly reason?: string;
  readonly durationMs: number;
  /** Memory left when decided, bytes, and what the snapshot was expected to need. */
  readonly headroom?: number;
  readonly needed?: number;
}

/** Memory left for a snapshot: the smallest of `process.availableMemory()`, cgroup limit − RSS, free memory. */
export function snapshotHeadroom(reading: MemoryReading, hostFree = freemem()): number {
  const known: number[] = [hostFree];
  if (reading.available !== undefined) known.push(reading.available);
  if (reading.cgroupLimit !== undefined) known.push(reading.cgroupLimit - reading.rss);
  return Math.max(0, Math.min(...known));
}

/**
 * Whether a snapshot fits: headroom ≥ `headroomFactor × heap used` (a snapshot costs several times the heap in
 * native memory; in a cgroup the kernel kills the writer and leaves a 0-byte file) and the expected duration
 * (`msPerMiB × heap MiB`) before `remainingMs`. Returns the reason when not.
 *
 * @publicApi
 */
export function snapshotDecision(
  reading: MemoryReading,
  options: { headroomFactor: number; msPerMiB: number },
  remainingMs: number,
  hostFree = freemem(),
): { take: boolean; reason?: string; headroom: number; needed: number; expectedMs: number } {
  const headroom = snapshotHeadroom(reading, hostFree);
  const needed = options.headroomFactor * reading.heapUsed;
  const expectedMs = (reading.heapUsed / MiB) * options.msPerMiB;
  if (headroom < needed) {
    return {
      take: false,
      reason:
        `not enough memory: ${mib(headroom)} left, a snapshot of ${mib(reading.heapUsed)} heap needs ` +
        `~${mib(needed)} (snapshot.headroomFactor ${options.headroomFactor})`,
      headroom,
      needed,
      expectedMs,
    };
  }
  if (expectedMs > remainingMs) {
    return {
      take: false,
      reason:
        `not enough time: ~${Math.round(expectedMs)} ms expected (${mib(reading.heapUsed)} heap × ` +
        `${options.msPerMiB} ms/MiB), ${Math.round(remainingMs)} ms left before the hard deadline`,
      headroom,
      needed,
      expectedMs,
    };
  }
  return { take: true, headroom, needed, expectedMs };
}

/**
 * `v8.writeHeapSnapshot()` into `<file>.tmp`, then renamed to `<file>` once complete and non-empty; the `.tmp` is
 * removed on any failure, so no truncated or 0-byte `.heapsnapshot` is ever left under the final name. Blocks the
 * event loop for the whole write.
 *
 * @publicApi
 */
export function writeSnapshotAtomically(file: string): SnapshotOutcome {
  const started = performance.now();
  const tmp = `${file}.tmp`;
  try {
    writeHeapSnapshot(tmp);
    const bytes = statSync(tmp).size;
    if (bytes === 0) throw new Error('the snapshot file is empty');
    renameSync(tmp, file);
    return { result: 'written', path: file, bytes, durationMs: performance.now() - started };
  } catch (err) {
    removeQuietly(tmp);
    return {
      result: 'failed',
      reason: (err as Error).message,
      durationMs: performance.now() - started,
    };
  }
}

/**
 * A `process.report` diagnostic report as JSON with the environment variables **redacted** (Node 20 has no
 * `--report-exclude-env`; reports carry every secret in the environment), plus `extra` under `steadyOomGuard`;
 * written to `<file>.tmp`, synced, then renamed. Returns the bytes written.
 *
 * @publicApi
 */
export function writeRedactedReport(file: string, extra: Record<string, unknown>): number {
  const report = redactReport(process.report.getReport() as unknown as Record<string, unknown>);
  report.steadyOomGuard = extra;
  return writeFileAtomically(file, `${JSON.stringify(report, null, 2)}\n`);
}

/** Replaces `environmentVariables` by a count; everything else is kept. @publicApi */
export function redactReport(report: Record<string, unknown>): Record<string, unknown> {
  const env = report.environmentVariables;
  const count = env && typeof env === 'object' ? Object.keys(env).length : 0;
  return {
    ...report,
    environmentVariables: { redacted: `${count} variables, values removed by @steady/oom-guard` },
  };
}

/** `<dir>/<prefix>-<ISO time>-<pid>.<ext>`, filesystem-safe. */
export function evidencePath(dir: string, prefix: string, ext: string, at = new Date()): string {
  const stamp = at.toISOString().replace(/[:.]/g, '-');
  return join(dir, `${prefix}-${stamp}-${process.pid}.${ext}`);
}

function writeFileAtomically(file: string, text: string): number {
  const tmp = `${file}.tmp`;
  try {
    const fd = openSync(tmp, 'w', 0o600);
    try {
      const buf = Buffer.from(text, 'utf8');
      let off = 0;
      while (off < buf.length) off += writeSync(fd, buf, off);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
    return Buffer.byteLength(text);
  } catch (err) {
    removeQuietly(tmp);
    throw err;
  }
}

function removeQuietly(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // not there
  }
}

function mib(bytes: number): string {
  return `${Math.round(bytes / MiB)} MiB`;
}
