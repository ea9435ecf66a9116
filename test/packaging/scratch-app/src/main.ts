// A Nest app outside the Steady repository that uses the packed @steady/* packages the way a user would:
// installed from tarballs, imported by package name, type-checked against their .d.ts.
import 'reflect-metadata';
import { Controller, Get, Module, Param, Query, UseGuards } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { SteadyCoreModule } from '@steady/core';
import { ETag, EtagModule } from '@steady/etag';
import { HealthModule, enableDrainHooks } from '@steady/health';
import { LoadSheddingModule, ShedGuard } from '@steady/load-shedding';
import { ExplainModule, MetricsModule } from '@steady/metrics';

const items = new Map([
  ['1', { id: '1', name: 'first', version: 3 }],
  ['2', { id: '2', name: 'second', version: 7 }],
]);

@Controller('items')
class ItemsController {
  @Get(':id')
  @ETag((req: { params: { id: string } }) => items.get(req.params.id)?.version)
  get(@Param('id') id: string) {
    return items.get(id) ?? { missing: id };
  }
}

@Controller('slow')
@UseGuards(ShedGuard)
class SlowController {
  @Get()
  async slow(@Query('ms') ms = '500') {
    await new Promise((r) => setTimeout(r, Math.min(Number(ms) || 0, 5000)));
    return { ok: true };
  }
}

@Module({
  imports: [
    SteadyCoreModule.forRoot(),
    MetricsModule.forRoot(),
    ExplainModule.forRoot(),
    LoadSheddingModule.forRoot({ maxInFlight: 4, global: false, eventLoop: false }),
    EtagModule.forRoot(),
    HealthModule.forRoot({
      lb: { delayMs: 0, fall: 1, intervalMs: 100, marginMs: 0 },
      deadlineMs: 2000,
    }),
  ],
  controllers: [ItemsController, SlowController],
})
class AppModule {}

async function main(): Promise<void> {
  const fastify = process.env.ADAPTER === 'fastify';
  const app = await NestFactory.create(
    AppModule,
    fastify ? new FastifyAdapter() : new ExpressAdapter(),
    {
      logger: ['error', 'warn'],
    },
  );
  enableDrainHooks(app);
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address() as { port: number };
  const resolved = require.resolve('@steady/core');
  process.stdout.write(`${JSON.stringify({ port: address.port, core: resolved })}\n`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
