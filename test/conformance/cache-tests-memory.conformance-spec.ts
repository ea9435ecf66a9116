import { HttpClientModule, HttpClient } from '@steady/http-client';
import { Test } from '@nestjs/testing';
import {
  readBaseline,
  regressedIds,
  regressions,
  runConformance,
  writeRun,
  type ConformanceRun,
} from './cache-tests.harness';

describe('cache-tests conformance, client mode, memory store', () => {
  let run: ConformanceRun;
  let client: HttpClient;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        HttpClientModule.forRoot({ cache: { type: 'private', store: 'memory' }, retries: 0 }),
      ],
    }).compile();
    client = moduleRef.get(HttpClient);
    const baseline = await readBaseline();
    run = await runConformance(client, 'memory', (s) => regressedIds(baseline, 'memory', s));
    await writeRun('memory', run);
    await moduleRef.close();
    const s = run.score;
    console.log(
      `cache-tests memory: required ${s.required.pass}/${s.required.total}, optimal ${s.optimal.pass}/${s.optimal.total}, ` +
        `check yes ${s.check.yes}/${s.check.total} in ${run.elapsedMs} ms` +
        (run.retried.length > 0 ? `; re-run: ${run.retried.join(', ')}` : ''),
    );
  }, 170_000);

  it('scores at least 124/137 required (dependency-aware)', async () => {
    const b = await readBaseline();
    expect(run.score.required.total).toBe(137);
    expect(
      run.score.required.pass,
      JSON.stringify(run.score.failures, null, 1),
    ).toBeGreaterThanOrEqual(b.minimum.required);
  });

  it('scores at least 60/77 optimal', async () => {
    const b = await readBaseline();
    expect(run.score.optimal.total).toBe(77);
    expect(run.score.optimal.pass).toBeGreaterThanOrEqual(b.minimum.optimal);
  });

  it('no test passing in the checked-in baseline fails', async () => {
    expect(regressions(await readBaseline(), 'memory', run.score)).toEqual([]);
  });
});
