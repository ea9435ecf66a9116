/**
 * The OOM guard in-process on both adapters, with scripted memory readings (the real leak runs in
 * oom-guard-haproxy.e2e-spec.ts): warning event and metrics, the action's order (readiness DOWN → drain → report →
 * last words → exit code), one action for many crossings, forRootAsync and option errors at bootstrap.
 */
import { Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { SteadyCoreModule, SteadyOptionsError } from '@steady/core';
import { DrainService, enableDrainHooks, HealthModule } from '@steady/health';
import { MetricsModule } from '@steady/metrics';
import {
  MemoryReader,
  OomGuardModule,
  OomGuardService,
  type MemoryReading,
  type OomLastWords,
  type OomLevelChange,
} from '@steady/oom-guard';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { httpRequest } from './support/keep-alive-load';
import { ADAPTERS, createTestApp, type TestApp } from './support/nest-app';

const MiB = 1024 ** 2;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Readings from a script: the test sets the old-gen ratio. */
class ScriptedReader extends MemoryReader {
  oldGen = 0.2;
  override read(source: MemoryReading['source'], rss?: number): MemoryReading {
    const real = super.read(source, rss);
    const oldGenLimit = 128 * MiB;
    return {
      ...real,
      oldGenUsed: this.oldGen * oldGenLimit,
      oldGenLimit,
      ratios: { ...real.ratios, old_gen: this.oldGen },
    };
  }
}

/** Records the exit instead of ending the test process. */
@Injectable()
class RecordingGuard extends OomGuardService {
  readonly exits: number[] = [];
  private resolveExit: (code: number) => void = () => undefined;
  readonly exited = new Promise<number>((resolve) => (this.resolveExit = resolve));
  protected override exit(code: number): void {
    this.exits.push(code);
    this.resolveExit(code);
  }
}

describe.each(ADAPTERS)('OomGuardModule in a Nest app (%s)', (adapter) => {
  let t: TestApp | undefined;
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'steady-oom-inproc-'));
  });
  afterEach(async () => {
    await t?.close();
    t = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  async function start(
    lastWords: (info: OomLastWords) => void | Promise<void>,
    extra: { hardDeadlineMs?: number; lastWordsTimeoutMs?: number } = {},
    lbDelayMs = 0,
  ) {
    @Module({
      imports: [
        SteadyCoreModule.forRoot({ sampleIntervalMs: 50 }),
        MetricsModule.forRoot(),
        HealthModule.forRoot({ lb: { fall: 1, intervalMs: 100, marginMs: 0, delayMs: lbDelayMs } }),
        OomGuardModule.forRoot({ directory: dir, snapshot: false, lastWords, ...extra }),
      ],
    })
    class AppModule {}
    t = await createTestApp(adapter, AppModule, {
      override: (b) =>
        b
          .overrideProvider(MemoryReader)
          .useFactory({
            factory: () =>
              new ScriptedReader({
                youngGenerationReserveBytes: 48 * MiB,
                cgroupRoot: '/sys/fs/cgroup',
                procSelfCgroup: '/proc/self/cgroup',
                clock: () => performance.now(),
              }),
          })
          .overrideProvider(OomGuardService)
          .useClass(RecordingGuard),
      configure: (app) => void enableDrainHooks(app, { signals: [] }),
    });
    return {
      reader: t.app.get(MemoryReader) as ScriptedReader,
      guard: t.app.get(OomGuardService) as RecordingGuard,
      drain: t.app.get(DrainService),
    };
  }

  it('warning: an event and the metrics, nothing else; then the action: drain, report, last words, exit 70', async () => {
    const words: OomLastWords[] = [];
    const { reader, guard, drain } = await start((info) => void words.push(info));
    const changes: OomLevelChange[] = [];
    guard.onLevelChange((c) => changes.push(c));
    const metrics = async () => (await httpRequest(`${t!.url}/metrics`)).body;

    reader.oldGen = 0.65;
    guard.check('gc');
    expect(changes.map((c) => `${c.kind} ${c.from}→${c.to}`)).toEqual(['old_gen ok→warning']);
    expect(guard.level).toBe('warning');
    const m = await metrics();
    expect(m).toContain('steady_oom_level 1');
    expect(m).toContain('steady_oom_memory_ratio{kind="old_gen"} 0.65');
    expect(m).toContain('steady_oom_triggers_total{level="warning",kind="old_gen"} 1');
    expect(m).toContain('steady_oom_threshold_ratio{kind="old_gen",level="action"} 0.7');
    expect((await httpRequest(`${t!.url}/health/ready`)).status).toBe(200);
    expect(drain.state).toBe('serving');

    // the monitor's samples (every 50 ms) keep judging: 0.65 stays a warning
    await sleep(200);
    expect(guard.status().samples.monitor).toBeGreaterThan(1);
    expect(changes).toHaveLength(1);

    reader.oldGen = 0.72;
    guard.check('gc');
    guard.check('gc'); // a second crossing joins the action under way
    expect(guard.level).toBe('action');
    expect(drain.state).toBe('draining');
    const ready = await httpRequest(`${t!.url}/health/ready`);
    expect(ready.status).toBe(503);
    expect(ready.body).toContain('memory');

    const code = await Promise.race([guard.exited, sleep(10_000).then(() => 'timeout')]);
    expect(code).toBe(70);
    expect(guard.exits).toEqual([70]);
    expect(drain.state).toBe('exited');
    const s = guard.status();
    expect(s.cause).toMatchObject({ kind: 'old_gen', ratio: 0.72, threshold: 0.7 });
    expect(s.snapshot).toMatchObject({
      result: 'skipped',
      reason: 'snapshot disabled (snapshot: false)',
    });
    expect(Object.keys(s.steps)).toEqual(['drain', 'snapshot', 'report', 'last_words']);
    expect(s.steps.drain).toBeGreaterThanOrEqual(90); // lb wait: fall 1 × 100 ms

    const files = await readdir(dir);
    expect(files).toHaveLength(1);
    expect(words).toEqual([
      expect.objectContaining({ kind: 'old_gen', exitCode: 70, reportPath: join(dir, files[0]!) }),
    ]);
    const report = JSON.parse(await readFile(join(dir, files[0]!), 'utf8'));
    expect(report.steadyOomGuard.snapshot.result).toBe('skipped');
    expect(report.steadyOomGuard.drain.state).toBe('exited');
    expect(Object.keys(report.environmentVariables)).toEqual(['redacted']);
  });
  it('memory reaching the critical level during the drain cuts it short: no snapshot, report, exit 70', async () => {
    // a long balancer wait: the drain would take 5 s
    const { reader, guard, drain } = await start(() => undefined, {}, 5_000);
    expect(drain.options.lbWaitMs).toBe(5_000);
    reader.oldGen = 0.72;
    const actedAt = performance.now();
    guard.check('gc');
    await sleep(100);
    expect(drain.state).toBe('draining');
    reader.oldGen = 0.86; // traffic still reaches the instance and leaks into it
    guard.check('monitor');
    const code = await Promise.race([guard.exited, sleep(10_000).then(() => 'timeout')]);
    expect(code).toBe(70);
    expect(performance.now() - actedAt).toBeLessThan(2_000);
    const s = guard.status();
    expect(s.emergency).toBe(
      'memory critical during the action: old_gen 86.0 % ≥ 85.0 % (monitor reading)',
    );
    expect(s.snapshot).toEqual({ result: 'skipped', reason: s.emergency, durationMs: 0 });
    expect(drain.state).toBe('draining'); // cut short, not finished
    const files = await readdir(dir);
    expect(files).toHaveLength(1);
    const report = JSON.parse(await readFile(join(dir, files[0]!), 'utf8'));
    expect(report.steadyOomGuard.emergency).toBe(s.emergency);
  });

  it('a failing step (the directory vanished) is logged; the next steps run and it still exits 70', async () => {
    const words: OomLastWords[] = [];
    const { reader, guard } = await start((info) => void words.push(info));
    await rm(dir, { recursive: true, force: true });
    reader.oldGen = 0.75;
    guard.check('gc');
    const code = await Promise.race([guard.exited, sleep(10_000).then(() => 'timeout')]);
    expect(code).toBe(70);
    expect(guard.status().reportPath).toBeUndefined();
    expect(words).toEqual([expect.objectContaining({ reportPath: undefined, exitCode: 70 })]);
    expect(Object.keys(guard.status().steps)).toEqual([
      'drain',
      'snapshot',
      'report',
      'last_words',
    ]);
  });

  it('a hard deadline exits even when a step hangs (here: last words that never finish)', async () => {
    const { reader, guard } = await start(() => new Promise<void>(() => undefined), {
      hardDeadlineMs: 1_000,
      lastWordsTimeoutMs: 3_000,
    });
    reader.oldGen = 0.75;
    const actedAt = performance.now();
    guard.check('gc');
    const code = await Promise.race([guard.exited, sleep(10_000).then(() => 'timeout')]);
    const afterMs = performance.now() - actedAt;
    expect(code).toBe(70);
    expect(afterMs).toBeGreaterThanOrEqual(950);
    expect(afterMs).toBeLessThan(2_900); // the deadline, not the last-words bound
    expect(guard.status().steps.last_words).toBeUndefined(); // still running when the deadline fired
  });
});

describe('OomGuardModule options', () => {
  it('forRootAsync: options from a factory, validated', async () => {
    @Module({
      imports: [
        SteadyCoreModule.forRoot(),
        OomGuardModule.forRootAsync({
          useFactory: () => ({ oldGen: { warning: 0.5, action: 0.65 }, exitCode: 75 }),
        }),
      ],
    })
    class AppModule {}
    const ref = await Test.createTestingModule({ imports: [AppModule] }).compile();
    const guard = ref.get(OomGuardService);
    expect(guard.options.thresholds.old_gen).toEqual({
      warning: 0.5,
      action: 0.65,
      critical: 0.825,
    });
    expect(guard.options.exitCode).toBe(75);
    await ref.close();
  });

  it.each([
    [
      { oldGen: { action: 1.2 } },
      /invalid option "oldGen.action": expected a number > 0 and < 1, got 1.2/,
    ],
    [
      { directory: '/nonexistent/steady-oom' },
      /invalid option "directory": expected an existing, writable directory/,
    ],
  ])('a bad option fails the bootstrap with a clear error: %j', async (options, message) => {
    @Module({
      imports: [
        SteadyCoreModule.forRoot(),
        OomGuardModule.forRootAsync({ useFactory: () => options }),
      ],
    })
    class AppModule {}
    const compiled = Test.createTestingModule({ imports: [AppModule] }).compile();
    await expect(compiled).rejects.toThrow(SteadyOptionsError);
    await expect(compiled).rejects.toThrow(message);
  });
});
