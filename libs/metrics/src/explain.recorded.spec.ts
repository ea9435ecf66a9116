import recorded from './explain-fixtures/slow-downstream.recorded.json';
import type { ExplainSnapshot } from './explain-snapshot.interface';
import { explain } from './explain.rules';

/**
 * Replays a recorded incident (tools/explain-fixture-record.ts: real Express app, real load): 6 s of calm traffic
 * on a 10 ms downstream, then 24 clients on a 1.5 s one with maxInFlight 20. The window is cut where the incident
 * starts to check the rules stay quiet before it, and fire during it.
 */
const snapshots = recorded.snapshots as unknown as ExplainSnapshot[];
const downstreams = recorded.downstreams;
const t = { recentMs: 3000 };
const incidentStart = snapshots.findIndex((s) => (s.core?.inFlightMean ?? 0) >= 10);
const byRule = (snaps: ExplainSnapshot[]) =>
  Object.fromEntries(explain(snaps, t, downstreams).findings.map((f) => [f.rule, f]));

describe('explain rules on a recorded slow-downstream incident', () => {
  it('the recording has a calm part and an incident part', () => {
    expect(snapshots.length).toBeGreaterThan(15);
    expect(incidentStart).toBeGreaterThan(5);
    expect(snapshots.at(-1)!.at - snapshots[incidentStart]!.at).toBeGreaterThanOrEqual(4000);
  });

  it('before the incident: no saturation, nothing shed, the downstream fast', () => {
    // the snapshot just before the cut can hold the first burst's 429s: cut one earlier
    const f = byRule(snapshots.slice(0, incidentStart - 1));
    expect(f['slow-downstream']!.status).toBe('quiet');
    expect(f['slow-downstream']!.text).toContain('not saturated');
    expect(f['shedding']!.status).toBe('quiet');
    expect(f['large-payloads']!.status).toBe('quiet');
    expect(f['memory']!.status).toBe('absent');
  });

  it('during the incident: saturated by the slow address book, shedding on in_flight, do not scale up', () => {
    const r = explain(snapshots, t, downstreams);
    const f = Object.fromEntries(r.findings.map((x) => [x.rule, x]));
    expect(f['slow-downstream']!.status).toBe('firing');
    expect(f['slow-downstream']!.title).toBe('Saturated: the address book is slow');
    expect(f['slow-downstream']!.text).toMatch(/of 20 requests in flight on average/);
    expect(f['slow-downstream']!.text).toMatch(
      /The address book takes 1\.\d+ s per call on average/,
    );
    expect(f['slow-downstream']!.text).toContain('GET /contacts');
    expect(f['shedding']!.status).toBe('firing');
    expect(f['shedding']!.text).toContain('in flight near maxInFlight 20');
    expect(f['cpu-bound']!.status).toBe('quiet');
    expect(r.headline).toMatch(/^Saturated: the address book is slow\./);
    expect(r.advisor.title).not.toBe('Scale up');
  });
});
