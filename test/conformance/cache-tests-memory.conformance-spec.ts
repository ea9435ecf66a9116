import { HttpClientModule, HttpClient } from '@steady/http-client';
import { Test } from '@nestjs/testing';
import {
  readBaseline,
  regressedIds,
  itMeetsTheGates,
  logScore,
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
    logScore('memory', run);
  }, 170_000);

  itMeetsTheGates('memory', () => run);
});
