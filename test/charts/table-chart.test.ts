// Bench tables become charts by naming rules; these are the rules a bench author relies on, read
// back from the rendered SVG (one mark per figure).
import { describe, expect, it } from 'vitest';
import { renderTablesSvg, tableSpecs } from '../../src/charts/table-chart.js';

const bars = (svg: string) => svg.match(/aria-roledescription="bar"/g)?.length ?? 0;
const points = (svg: string) => svg.match(/aria-roledescription="point"/g)?.length ?? 0;

describe('bench table charts', () => {
  it('draw a bar per measured figure and per ratio; units such as MiB/s are measures, not ratios', async () => {
    const rows = [
      { workload: 'seq read', unit: 'MiB/s', 'Strata MiB/s': 900, 'local MiB/s': 2400, 'Strata/local': 0.375, target: '>= 0.5x' },
      { workload: 'create', unit: 'ops/s', 'Strata MiB/s': 500, 'local MiB/s': Number.NaN, 'Strata/local': Number.NaN, target: '' },
    ];
    const svg = await renderTablesSvg([{ title: 'one', rows }]);
    expect(bars(svg!)).toBe(3 + 1);
    expect(svg).toContain('seq read (MiB/s)');
    expect(svg).toContain('ratios (1.0 = parity)');
  });

  it('plot latencies by percentile, from p50/p95/p99 columns or a quantile column', async () => {
    const wide = [{ setting: 'near', 'p50 ms': 1, 'p95 ms': 3, 'p99 ms': 9 }, { setting: 'far', 'p50 ms': 40, 'p95 ms': 60, 'p99 ms': 90 }];
    const long = [{ setting: 'near', quantile: 'p50', 'a ms': 1, 'b ms': 2 }, { setting: 'near', quantile: 'p95', 'a ms': 3, 'b ms': 4 }];
    const svg = await renderTablesSvg([{ title: 'wide', rows: wide }, { title: 'long', rows: long }]);
    expect(points(svg!)).toBe(6 + 4);
    expect(bars(svg!)).toBe(0);
    expect(svg).toContain('near a ms');
  });

  it('leave out tables with nothing to plot', async () => {
    expect(tableSpecs({ title: 'text', rows: [{ name: 'x', status: 'met' }] })).toEqual([]);
    expect(await renderTablesSvg([{ title: 'empty', rows: [] }])).toBeNull();
  });
});
