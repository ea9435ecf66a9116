import { HttpClientModule, HttpClient } from '@steady/http-client';
import { Test } from '@nestjs/testing';
import { startRedisServer, type RedisServerHandle } from '../support/redis-server';
import {
  readBaseline,
  regressedIds,
  itMeetsTheGates,
  logScore,
  runConformance,
  writeRun,
  type ConformanceRun,
} from './cache-tests.harness';

describe('cache-tests conformance, client mode, Redis store (real redis-server)', () => {
  let run: ConformanceRun;
  let client: HttpClient;
  let redis: RedisServerHandle;

  beforeAll(async () => {
    redis = await startRedisServer();
    const moduleRef = await Test.createTestingModule({
      imports: [
        HttpClientModule.forRoot({
          cache: { type: 'private', store: { redis: { url: redis.url, commandTimeoutMs: 1000 } } },
          retries: 0,
        }),
      ],
    }).compile();
    client = moduleRef.get(HttpClient);
    const baseline = await readBaseline();
    run = await runConformance(client, 'redis', (s) => regressedIds(baseline, 'redis', s));
    await writeRun('redis', run);
    await moduleRef.close();
    const keys = await redis.command('DBSIZE');
    console.log(`cache-tests redis: ${String(keys)} keys in Redis after the run`);
    await redis.stop();
    logScore('redis', run);
  }, 170_000);

  itMeetsTheGates('redis', () => run);
});
