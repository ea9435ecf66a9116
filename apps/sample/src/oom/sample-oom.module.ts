import { Module, type DynamicModule } from '@nestjs/common';
import { OomGuardModule } from '@steady/oom-guard';
import { DebugLeakController } from './debug-leak.controller';
import { loadSampleOomConfig } from './sample-oom.config';

/**
 * The OOM guard in the sample: default thresholds (old-gen 0.60/0.70, RSS vs cgroup 0.70/0.80), snapshots and
 * reports into `OOM_DIR`, exit 70 after the drain. `OOM_DEBUG_LEAK=true` adds the leak route.
 */
@Module({})
export class SampleOomModule {
  static forRoot(env: NodeJS.ProcessEnv = process.env): DynamicModule {
    const config = loadSampleOomConfig(env);
    return {
      module: SampleOomModule,
      imports: config.enabled
        ? [
            OomGuardModule.forRoot({
              directory: config.directory,
              snapshot: config.snapshot ? {} : false,
            }),
          ]
        : [],
      controllers: config.debugLeak ? [DebugLeakController] : [],
    };
  }
}
