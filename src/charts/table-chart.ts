// Benchmark tables as one SVG chart, rendered headlessly by vega-lite and vega. Each table becomes
// small multiples of grouped bars (one panel per row, its own scale: rows measure different
// units), a bar chart of its ratio columns around 1.0, or a percentile plot when it holds
// latencies by quantile. The tables are the ones the benches print, read by these rules:
//  - the row's label is its first column, with `unit` and other key columns after it;
//  - a numeric column whose name has a "/" or says "ratio" is a ratio (Strata / reference);
//  - every other numeric column is a measurement; text columns (targets, status) are left out;
//  - a `quantile` column (p50, p95, ...) or columns named p50/p95/p99 make a percentile plot.
import type { TopLevelSpec } from 'vega-lite';

export type Cell = string | number;
export interface ChartTable {
  title: string;
  rows: Record<string, Cell>[];
  /** Column roles, where the naming rules would guess wrong (names that are paths, say). */
  columns?: Columns;
}

const KEY_COLUMNS = new Set(['unit', 'clients', 'slices', 'size', 'setting', 'quantile', 'threads']);
// "MiB/s" and "ops/s" are units, not ratios.
const isRatio = (col: string) => col.replace(/\/s\b/g, '').includes('/') || /ratio/i.test(col);
const PERCENTILE_COLUMN = /^p(\d+(?:\.\d+)?)\b/i;
const WIDTH = 220;
const HEIGHT = 120;

type Point = Record<string, string | number>;

export interface Columns {
  label: string[];
  measures: string[];
  ratios: string[];
}

function columnsOf(rows: Record<string, Cell>[]): Columns {
  const names = Object.keys(rows[0] ?? {});
  // A measure missing from a row is NaN in a bench's table, null once through JSON.
  const absent = (v: Cell | null | undefined) => v === undefined || v === null || v === '';
  const numeric = (c: string) => rows.some((r) => finite(r[c])) && rows.every((r) => typeof r[c] === 'number' || absent(r[c]));
  const label = names.filter((c, i) => i === 0 || KEY_COLUMNS.has(c));
  const rest = names.filter((c) => !label.includes(c) && numeric(c));
  return { label, measures: rest.filter((c) => !isRatio(c)), ratios: rest.filter(isRatio) };
}

const labelOf = (row: Record<string, Cell>, cols: string[]) => cols.map((c) => (c === 'unit' ? `(${row[c]})` : String(row[c]))).filter((s) => s !== '' && s !== '()').join(' ');
function finite(v: Cell | null | undefined): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

/** One measure per row (a table of targets, of timings): a bar per row on one log axis,
 * coloured by the row's status when it has one (met / missed). */
function rowBars(t: ChartTable, c: Columns): TopLevelSpec | null {
  const m = c.measures[0];
  const values: Point[] = t.rows.filter((r) => finite(r[m])).map((r) => ({ row: labelOf(r, c.label), value: r[m] as number, status: String(r.status ?? m) }));
  if (values.length === 0) return null;
  return {
    title: { text: t.title, anchor: 'start', fontSize: 13, limit: 900 },
    width: 560, height: { step: 16 },
    data: { values },
    mark: { type: 'bar', tooltip: true },
    encoding: {
      y: { field: 'row', type: 'nominal', title: null, sort: null, axis: { labelLimit: 360 } },
      x: { field: 'value', type: 'quantitative', title: m, scale: { type: 'symlog' } },
      color: { field: 'status', type: 'nominal', title: null, legend: { orient: 'top' } },
    },
  } as TopLevelSpec;
}

function groupedBars(t: ChartTable, c: Columns): TopLevelSpec | null {
  if (c.measures.length === 1) return rowBars(t, c);
  const values: Point[] = [];
  for (const row of t.rows) for (const m of c.measures) if (finite(row[m])) values.push({ row: labelOf(row, c.label), series: m, value: row[m] });
  if (values.length === 0) return null;
  // Panels in the table's order (vega-lite sorts facets by name otherwise).
  const order = [...new Set(values.map((v) => String(v.row)))];
  return {
    title: { text: t.title, anchor: 'start', fontSize: 13, limit: 900 },
    data: { values },
    facet: { field: 'row', type: 'nominal', title: null, sort: order, header: { labelLimit: WIDTH + 60, labelFontSize: 10 } },
    columns: 3,
    spec: {
      width: WIDTH, height: HEIGHT,
      mark: { type: 'bar', tooltip: true },
      encoding: {
        x: { field: 'series', type: 'nominal', title: null, sort: c.measures, axis: { labels: false, ticks: false } },
        y: { field: 'value', type: 'quantitative', title: null, axis: { format: ',.3~g' } },
        color: { field: 'series', type: 'nominal', title: null, sort: c.measures, legend: { orient: 'top', labelLimit: 480 } },
      },
    },
    resolve: { scale: { y: 'independent' } },
  } as TopLevelSpec;
}

function ratioBars(t: ChartTable, c: Columns): TopLevelSpec | null {
  const values: Point[] = [];
  for (const row of t.rows) for (const r of c.ratios) if (finite(row[r])) values.push({ row: labelOf(row, c.label), ratio: r, value: row[r] });
  if (values.length === 0) return null;
  return {
    title: { text: `${t.title}: ratios (1.0 = parity)`, anchor: 'start', fontSize: 13, limit: 900 },
    width: 560, height: { step: 14 },
    data: { values },
    layer: [
      {
        mark: { type: 'bar', tooltip: true },
        encoding: {
          y: { field: 'row', type: 'nominal', title: null, sort: null, axis: { labelLimit: 320 } },
          yOffset: { field: 'ratio', type: 'nominal', sort: c.ratios },
          x: { field: 'value', type: 'quantitative', title: 'ratio', scale: { type: 'symlog' } },
          color: { field: 'ratio', type: 'nominal', title: null, sort: c.ratios, legend: { orient: 'top', labelLimit: 480 } },
        },
      },
      { mark: { type: 'rule', color: '#444', strokeDash: [4, 3] }, encoding: { x: { datum: 1 } } },
    ],
  } as TopLevelSpec;
}

/** Latencies by quantile: x the percentile, y the value, a line per series. */
function percentilePlot(t: ChartTable, c: Columns): TopLevelSpec | null {
  const values: Point[] = [];
  const pcols = Object.keys(t.rows[0] ?? {}).filter((k) => PERCENTILE_COLUMN.test(k));
  if ('quantile' in (t.rows[0] ?? {})) {
    for (const row of t.rows) {
      const q = Number(PERCENTILE_COLUMN.exec(String(row.quantile))?.[1]);
      const label = labelOf(row, c.label.filter((k) => k !== 'quantile'));
      for (const m of c.measures) if (finite(row[m]) && Number.isFinite(q)) values.push({ percentile: q, series: `${label} ${m}`.trim(), value: row[m] });
    }
  } else {
    for (const row of t.rows) {
      for (const p of pcols) if (finite(row[p])) values.push({ percentile: Number(PERCENTILE_COLUMN.exec(p)![1]), series: labelOf(row, c.label), value: row[p] });
    }
  }
  if (values.length === 0) return null;
  const unit = pcols[0]?.replace(PERCENTILE_COLUMN, '').trim() || c.measures.find((m) => / ms$/.test(m))?.replace(/^.* /, '') || '';
  return {
    title: { text: `${t.title}: percentiles`, anchor: 'start', fontSize: 13, limit: 900 },
    width: 560, height: 220,
    data: { values },
    mark: { type: 'line', point: true, tooltip: true },
    encoding: {
      x: { field: 'percentile', type: 'quantitative', title: 'percentile', scale: { domain: [50, 100] } },
      y: { field: 'value', type: 'quantitative', title: unit || 'latency', scale: { type: 'log' } },
      color: { field: 'series', type: 'nominal', title: null, legend: { orient: 'right', labelLimit: 300 } },
    },
  } as TopLevelSpec;
}

function isPercentileTable(t: ChartTable): boolean {
  const first = t.rows[0] ?? {};
  return 'quantile' in first || Object.keys(first).filter((k) => PERCENTILE_COLUMN.test(k)).length >= 2;
}

/** The vega-lite specs of a table (none when it has nothing to plot). */
export function tableSpecs(t: ChartTable): TopLevelSpec[] {
  if (t.rows.length === 0) return [];
  const c = t.columns ?? columnsOf(t.rows);
  const specs = isPercentileTable(t) ? [percentilePlot(t, c)] : [groupedBars(t, c), ratioBars(t, c)];
  return specs.filter((s): s is TopLevelSpec => s !== null);
}

/** One SVG of every table's charts, one under another; null when no table has numbers. */
export async function renderTablesSvg(tables: ChartTable[], heading?: string): Promise<string | null> {
  const specs = tables.flatMap(tableSpecs);
  if (specs.length === 0) return null;
  // Loaded only when a chart is drawn: they are large, and most commands never draw one.
  const [vega, vl] = await Promise.all([import('vega'), import('vega-lite')]);
  const top = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    ...(heading ? { title: { text: heading, fontSize: 16, anchor: 'start' } } : {}),
    vconcat: specs,
    // Each chart has its own colours and legend: their series are not the same things.
    resolve: { scale: { color: 'independent' }, legend: { color: 'independent' } },
    spacing: 36,
    padding: 16,
    config: { font: 'DejaVu Sans, Helvetica, Arial, sans-serif', view: { stroke: '#ddd' }, axis: { labelFontSize: 10, titleFontSize: 11 } },
  } as TopLevelSpec;
  const view = new vega.View(vega.parse(vl.compile(top).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
