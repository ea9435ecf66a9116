import { BadRequestException, Controller, HttpCode, Logger, Post, Query } from '@nestjs/common';
import { randomBytes } from 'node:crypto';

const MiB = 1024 * 1024;
/** A flat 4 KiB string per entry, on the V8 heap (old generation once it survives). */
const ENTRY_CHARS = 4096;

/**
 * `POST /debug/leak?mib=N` retains N MiB (1..64) of heap for good: the memory incident on demand, to watch the OOM
 * guard drain, snapshot, report and exit 70. Mounted only with `OOM_DEBUG_LEAK=true`.
 */
@Controller('debug/leak')
export class DebugLeakController {
  private static readonly retained: string[] = [];
  private readonly logger = new Logger('DebugLeak');

  @Post()
  @HttpCode(200)
  leak(@Query('mib') mib?: string): { leakedMiB: number; retainedMiB: number } {
    const n = Number(mib ?? '1');
    if (!/^\d+$/.test(mib ?? '1') || n < 1 || n > 64) {
      throw new BadRequestException('mib must be an integer from 1 to 64');
    }
    const entries = (n * MiB) / ENTRY_CHARS;
    for (let i = 0; i < entries; i++) {
      // random hex: a flat, unique string (a padded or repeated one is a cheap rope sharing its filler)
      DebugLeakController.retained.push(randomBytes(ENTRY_CHARS / 2).toString('hex'));
    }
    const retainedMiB = (DebugLeakController.retained.length * ENTRY_CHARS) / MiB;
    this.logger.warn(`leaked ${n} MiB on purpose (${retainedMiB} MiB retained)`);
    return { leakedMiB: n, retainedMiB };
  }
}
