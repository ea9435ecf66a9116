import { OptionValidator } from '@steady/core';
import { tmpdir } from 'node:os';

/** The OOM guard's settings in the sample, from the environment. */
export interface SampleOomConfig {
  /** `OOM_GUARD=true|false`: watch memory and act before it runs out. Default true. */
  enabled: boolean;
  /** Where heap snapshots and reports go (must exist, writable); `OOM_DIR`, default the OS temp dir. */
  directory: string;
  /** `OOM_SNAPSHOT=true|false`: take a heap snapshot before exiting (when headroom allows). Default true. */
  snapshot: boolean;
  /** `OOM_DEBUG_LEAK=true` mounts `POST /debug/leak?mib=N` (retains N MiB per call). Never in production. Default false. */
  debugLeak: boolean;
}

/** Reads and validates the `OOM_*` variables; a bad one stops start-up with an error naming it. */
export function loadSampleOomConfig(env: NodeJS.ProcessEnv = process.env): SampleOomConfig {
  const v = new OptionValidator('apps/sample');
  const bool = (name: string, fallback: boolean) => {
    const raw = env[name]?.trim().toLowerCase();
    if (raw === undefined || raw === '') return fallback;
    const value =
      raw === 'true' || raw === '1' ? true : raw === 'false' || raw === '0' ? false : raw;
    return v.boolean(name, value, fallback);
  };
  return {
    enabled: bool('OOM_GUARD', true),
    directory: v.string('OOM_DIR', env.OOM_DIR || undefined, tmpdir()),
    snapshot: bool('OOM_SNAPSHOT', true),
    debugLeak: bool('OOM_DEBUG_LEAK', false),
  };
}
