import { startSampleApp } from './sample.bootstrap';
import { loadSampleConfig } from './sample.config';

async function main(): Promise<void> {
  await startSampleApp(loadSampleConfig());
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? `${err.name}: ${err.message}` : err);
  process.exit(1);
});
