import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  evidencePath,
  redactReport,
  snapshotDecision,
  snapshotHeadroom,
  writeRedactedReport,
  writeSnapshotAtomically,
} from './oom-evidence';
import type { MemoryReading } from './oom-guard-options.interface';

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;

function reading(partial: Partial<MemoryReading>): MemoryReading {
  return {
    source: 'manual',
    at: 0,
    oldGenUsed: 90 * MiB,
    oldGenLimit: 128 * MiB,
    heapUsed: 100 * MiB,
    rss: 300 * MiB,
    cgroupLimit: undefined,
    available: undefined,
    ratios: { old_gen: 0.7, cgroup: 0 },
    ...partial,
  };
}

describe('snapshot headroom gate', () => {
  const gate = { headroomFactor: 6, msPerMiB: 100 };

  it('headroom is the smallest of available memory, cgroup limit − RSS and free memory', () => {
    expect(snapshotHeadroom(reading({}), 8 * GiB)).toBe(8 * GiB);
    expect(snapshotHeadroom(reading({ available: 2 * GiB }), 8 * GiB)).toBe(2 * GiB);
    expect(snapshotHeadroom(reading({ cgroupLimit: 512 * MiB, available: 2 * GiB }), 8 * GiB)).toBe(
      212 * MiB,
    );
    expect(snapshotHeadroom(reading({ cgroupLimit: 256 * MiB }), 8 * GiB)).toBe(0);
  });

  it('a 100 MiB heap in a 512 MiB cgroup (RSS 300 MiB) is skipped: the kernel would kill the writer', () => {
    const d = snapshotDecision(reading({ cgroupLimit: 512 * MiB }), gate, 60_000, 8 * GiB);
    expect(d.take).toBe(false);
    expect(d.reason).toBe(
      'not enough memory: 212 MiB left, a snapshot of 100 MiB heap needs ~600 MiB (snapshot.headroomFactor 6)',
    );
  });

  it('enough memory but not enough time before the hard deadline: skipped, saying so', () => {
    const d = snapshotDecision(reading({}), gate, 5_000, 8 * GiB);
    expect(d).toMatchObject({ take: false, expectedMs: 10_000 });
    expect(d.reason).toMatch(/^not enough time: ~10000 ms expected .* 5000 ms left/);
  });

  it('enough of both: taken', () => {
    expect(snapshotDecision(reading({}), gate, 20_000, 8 * GiB)).toMatchObject({
      take: true,
      needed: 600 * MiB,
      headroom: 8 * GiB,
    });
  });
});

describe('evidence files', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'steady-oom-evidence-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('the report has no environment values (Node 20 has no --report-exclude-env) and carries our section', () => {
    const secret = `s3cret-${process.pid}-${Date.now()}`;
    process.env.STEADY_OOM_UNIT_SECRET = secret;
    try {
      const file = evidencePath(dir, 'oom-report', 'json', new Date('2026-01-02T03:04:05.678Z'));
      expect(file).toBe(join(dir, `oom-report-2026-01-02T03-04-05-678Z-${process.pid}.json`));
      const bytes = writeRedactedReport(file, { cause: { kind: 'old_gen' } });
      const text = readFileSync(file, 'utf8');
      expect(Buffer.byteLength(text)).toBe(bytes);
      expect(text).not.toContain(secret);
      const report = JSON.parse(text);
      expect(report.environmentVariables).toEqual({
        redacted: expect.stringMatching(/^\d+ variables, values removed/),
      });
      expect(report.header.nodejsVersion).toBe(process.version);
      expect(report.javascriptHeap.heapSpaces).toBeDefined();
      expect(report.steadyOomGuard).toEqual({ cause: { kind: 'old_gen' } });
      expect(readdirSync(dir)).toEqual([file.slice(dir.length + 1)]);
    } finally {
      delete process.env.STEADY_OOM_UNIT_SECRET;
    }
  });

  it('redactReport keeps the other sections', () => {
    expect(redactReport({ header: { a: 1 }, environmentVariables: { A: 'x', B: 'y' } })).toEqual({
      header: { a: 1 },
      environmentVariables: { redacted: '2 variables, values removed by @steady/oom-guard' },
    });
  });

  it('a snapshot that cannot be written fails without leaving any file', () => {
    const outcome = writeSnapshotAtomically(join(dir, 'missing-dir', 'x.heapsnapshot'));
    expect(outcome.result).toBe('failed');
    expect(outcome.reason).toMatch(/ENOENT/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('a snapshot (small heap, child process) is complete, parseable, and only under its final name', () => {
    const file = join(dir, 'small.heapsnapshot');
    const root = resolve(__dirname, '../../..');
    const out = execFileSync(
      process.execPath,
      [
        '-r',
        resolve(root, 'test/fixtures/oom-register.cjs'),
        '-e',
        `const e = require(${JSON.stringify(resolve(__dirname, 'oom-evidence.ts'))});` +
          `process.stdout.write(JSON.stringify(e.writeSnapshotAtomically(${JSON.stringify(file)})))`,
      ],
      { cwd: root, timeout: 60_000 },
    ).toString();
    const outcome = JSON.parse(out);
    expect(outcome).toMatchObject({ result: 'written', path: file });
    expect(readdirSync(dir)).toEqual(['small.heapsnapshot']);
    const snapshot = JSON.parse(readFileSync(file, 'utf8'));
    expect(snapshot.snapshot.node_count).toBeGreaterThan(1000);
    expect(outcome.bytes).toBe(readFileSync(file).length);
  });
});
