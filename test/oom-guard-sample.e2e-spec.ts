/**
 * The OOM guard wired into the sample (both adapters): on by default with its metrics, the debug leak route absent
 * unless OOM_DEBUG_LEAK=true, bad input 400, a bad OOM_DIR stops start-up naming it.
 */
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { SteadyCoreModule } from '@steady/core';
import { OomGuardService } from '@steady/oom-guard';
import type { Server } from 'node:http';
import { createSampleApp } from '../apps/sample/src/sample.bootstrap';
import { loadSampleOomConfig } from '../apps/sample/src/oom/sample-oom.config';
import { SampleOomModule } from '../apps/sample/src/oom/sample-oom.module';
import { sampleConfig } from '../apps/sample/src/sample.config';
import { LOOPBACK } from './support/free-port';
import { httpRequest } from './support/keep-alive-load';
import { ADAPTERS } from './support/nest-app';

async function withEnv<T>(env: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  try {
    return await fn();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

describe.each(ADAPTERS)('sample app: OOM guard wiring (%s)', (adapter) => {
  let app: INestApplication | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  async function start(env: Record<string, string> = {}): Promise<string> {
    const config = sampleConfig({
      adapter,
      host: LOOPBACK,
      logLevel: 'error',
      shedding: { eventLoop: false },
    });
    app = await withEnv(env, () => createSampleApp(config));
    await app.listen(0, LOOPBACK);
    return `http://${LOOPBACK}:${((app.getHttpServer() as Server).address() as { port: number }).port}`;
  }

  it('guard on by default, metrics exposed, no leak route', async () => {
    const url = await start();
    expect(app!.get(OomGuardService).options.thresholds.old_gen).toEqual({
      warning: 0.6,
      action: 0.7,
      critical: 0.85,
    });
    const metrics = (await httpRequest(`${url}/metrics`)).body;
    expect(metrics).toMatch(/^steady_oom_level\{service="steady-sample"\} 0$/m);
    expect(metrics).toMatch(
      /^steady_oom_memory_ratio\{kind="old_gen",service="steady-sample"\} 0\.\d+$/m,
    );
    expect((await httpRequest(`${url}/debug/leak?mib=1`, { method: 'POST' })).status).toBe(404);
  });

  it('OOM_DEBUG_LEAK=true: POST /debug/leak?mib=N retains N MiB; bad input is 400', async () => {
    const url = await start({ OOM_DEBUG_LEAK: 'true' });
    const ok = await httpRequest(`${url}/debug/leak?mib=2`, { method: 'POST' });
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body)).toMatchObject({ leakedMiB: 2 });
    for (const bad of ['0', '65', 'abc', '1.5']) {
      const r = await httpRequest(`${url}/debug/leak?mib=${bad}`, { method: 'POST' });
      expect(r.status, bad).toBe(400);
      expect(r.body).toContain('mib must be an integer from 1 to 64');
    }
  });

  it('a bad OOM_DIR stops start-up with an error naming it', async () => {
    // NestFactory.create() exits the process on a bootstrap error, so the sample's module is compiled here
    const compiled = Test.createTestingModule({
      imports: [
        SteadyCoreModule.forRoot(),
        SampleOomModule.forRoot({ OOM_DIR: '/nonexistent/steady-oom' }),
      ],
    }).compile();
    await expect(compiled).rejects.toThrow(
      /@steady\/oom-guard: invalid option "directory": expected an existing, writable directory/,
    );
    expect(() => loadSampleOomConfig({ OOM_DEBUG_LEAK: 'yes' })).toThrow(
      /apps\/sample: invalid option "OOM_DEBUG_LEAK": expected true or false, got "yes"/,
    );
  });
});
