import type { CounterDefinition, MetricLabels, MetricsSink } from './metrics-sink.interface';
import { LabelledCounts, mirrorCounter } from './metrics-sink.util';

function fakeSink() {
  const incs: Array<[MetricLabels | undefined, number]> = [];
  let collect: (() => void) | undefined;
  const sink = {
    counter(def: CounterDefinition) {
      const handle = { inc: (labels?: MetricLabels, v = 1) => void incs.push([labels, v]) };
      collect = () => def.collect?.(handle);
      return handle;
    },
  } as unknown as MetricsSink;
  return { sink, incs, scrape: () => collect?.() };
}

describe('mirrorCounter', () => {
  it('adds what a plain count grew by since the last scrape', () => {
    const { sink, incs, scrape } = fakeSink();
    let n = 3;
    mirrorCounter(sink, { name: 'x_total', help: 'x' }, () => n);
    scrape();
    scrape();
    n = 5;
    scrape();
    expect(incs).toEqual([
      [undefined, 3],
      [undefined, 2],
    ]);
  });

  it('mirrors one series per label set', () => {
    const { sink, incs, scrape } = fakeSink();
    const counts = new Map([['a', 1]]);
    mirrorCounter(sink, { name: 'y_total', help: 'y', labelNames: ['k'] }, () =>
      [...counts].map(([k, v]) => [{ k }, v] as const),
    );
    scrape();
    counts.set('a', 4);
    counts.set('b', 2);
    scrape();
    expect(incs).toEqual([
      [{ k: 'a' }, 1],
      [{ k: 'a' }, 3],
      [{ k: 'b' }, 2],
    ]);
  });

  it('does nothing without a sink', () => {
    expect(mirrorCounter(undefined, { name: 'z_total', help: 'z' }, () => 1)).toBeUndefined();
  });
});

describe('LabelledCounts', () => {
  it('counts per label set, keeps each set apart, and feeds mirrorCounter', () => {
    const c = new LabelledCounts(['reason', 'priority'] as const);
    c.inc({ reason: 'in_flight', priority: 'normal' });
    c.inc({ reason: 'in_flight', priority: 'normal' });
    c.inc({ reason: 'in_flight', priority: 'critical' }, 3);
    // label values that would collide if simply concatenated stay apart
    c.inc({ reason: 'a', priority: 'bc' });
    c.inc({ reason: 'ab', priority: 'c' });
    expect(c.series()).toEqual([
      [{ reason: 'in_flight', priority: 'normal' }, 2],
      [{ reason: 'in_flight', priority: 'critical' }, 3],
      [{ reason: 'a', priority: 'bc' }, 1],
      [{ reason: 'ab', priority: 'c' }, 1],
    ]);
    const { sink, incs, scrape } = fakeSink();
    mirrorCounter(sink, { name: 'shed_total', help: 's', labelNames: c.labelNames }, () =>
      c.series(),
    );
    scrape();
    c.inc({ reason: 'ab', priority: 'c' });
    scrape();
    expect(incs.at(-1)).toEqual([{ reason: 'ab', priority: 'c' }, 1]);
    expect(incs).toHaveLength(5);
  });
});
