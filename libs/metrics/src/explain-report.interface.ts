/** Whether a rule's condition holds now, holds not, or cannot be read because its module is not present. */
export type FindingStatus = 'firing' | 'quiet' | 'absent';
export type FindingSeverity = 'critical' | 'warning' | 'info' | 'ok';

/**
 * One statement of the explain view: what a rule read, in plain words, with the numbers behind it.
 *
 * @publicApi
 */
export interface ExplainFinding {
  /** Stable rule id, e.g. `slow-downstream`. */
  readonly rule: string;
  /** The Steady module whose signals the rule reads (`core`, `load-shedding`, `health`, `oom-guard`, …). */
  readonly module: string;
  readonly status: FindingStatus;
  readonly severity: FindingSeverity;
  /** One line, e.g. "Saturated: a downstream is slow". */
  readonly title: string;
  /** What is going on, in plain words, with the numbers. */
  readonly text: string;
  /** What to do about it (firing findings). */
  readonly advice?: string;
  /** The numbers the statement was made on (ratios 0..1, seconds, bytes, per-second rates). */
  readonly numbers: Readonly<Record<string, number | string | null>>;
}

/** The answer of `GET /ops/explain`. @publicApi */
export interface ExplainReport {
  /** ISO time of the newest snapshot. */
  readonly at: string;
  /** The first firing statement by severity, or that all is quiet. */
  readonly headline: string;
  readonly window: {
    readonly snapshots: number;
    /** Seconds the window covers. */
    readonly seconds: number;
    /** Seconds the "recent" part covers (compared with the rest of the window). */
    readonly recentSeconds: number;
  };
  /** Which Steady modules were found by their metrics. */
  readonly modules: Readonly<Record<string, boolean>>;
  /** The scale-up advisor (also in `findings`). */
  readonly advisor: ExplainFinding;
  /** Every rule, firing ones first. */
  readonly findings: readonly ExplainFinding[];
}
