// The Grafana dashboard in docs/grafana/ is what the builder makes from the metric names (its
// fields are checked against Grafana's published schema types when it compiles); every query
// parses with the Prometheus project's PromQL parser and names a metric some layer registers;
// panels have their own ids and places on the grid.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parser } from '@prometheus-io/lezer-promql';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import '../../src/fuse/stats.js';
import '../../src/gateway/metrics.js';
import '../../src/sdk/metrics.js';
import '../../src/metrics/jobs.js';
import { packageRoot } from '../../src/hotpath/locate.js';
import { registry } from '../../src/metrics/registry.js';
import { DASHBOARD_FILE, dashboardJson } from '../../src/metrics/write-dashboard.js';

interface Target { expr: string }
interface PanelLike { id: number; type: string; title: string; gridPos: { x: number; y: number; w: number; h: number }; targets?: Target[] }

const dashboard = JSON.parse(dashboardJson()) as { panels: PanelLike[]; uid: string; schemaVersion: number };
const queries = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));

/** Every series name a scrape can show: what the layers register, with a histogram's series. */
async function knownSeries(): Promise<Set<string>> {
  const own = new Registry();
  collectDefaultMetrics({ register: own });
  const names = new Set<string>();
  for (const reg of [registry, own]) {
    for (const m of await reg.getMetricsAsJSON()) {
      names.add(m.name);
      if (String(m.type) === 'histogram') for (const s of ['_bucket', '_count', '_sum']) names.add(`${m.name}${s}`);
    }
  }
  return names;
}

describe('the Grafana dashboard', () => {
  it('is committed as the builder makes it (npm run dashboard)', () => {
    expect(readFileSync(join(packageRoot(), DASHBOARD_FILE), 'utf8')).toBe(dashboardJson());
    expect(dashboard.uid).toBe('strata-overview');
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
  });

  it('asks only valid PromQL about metrics that exist', async () => {
    const known = await knownSeries();
    expect(queries.length).toBeGreaterThan(30);
    for (const { panel, expr } of queries) {
      // Grafana replaces its interval variable before Prometheus sees the query.
      const promql = expr.replaceAll('$__rate_interval', '5m');
      const names: string[] = [];
      let error = false;
      parser.parse(promql).iterate({
        enter(n) {
          if (n.type.isError) error = true;
          if (n.name === 'Identifier' && n.node.parent?.name === 'VectorSelector') names.push(promql.slice(n.from, n.to));
        },
      });
      expect(error, `${panel}: ${expr} does not parse`).toBe(false);
      expect(names.length, `${panel}: ${expr} names no metric`).toBeGreaterThan(0);
      for (const name of names) expect(known.has(name), `${panel}: ${name} is not a metric Strata serves`).toBe(true);
    }
  });

  it('shows the release\'s named metrics: latency percentiles per layer, blockcache.errors, remotecache.peers, warmup and import', () => {
    const all = queries.map((q) => q.expr).join('\n');
    for (const name of ['strata_fuse_op_seconds_bucket', 'strata_meta_call_seconds_bucket', 'strata_object_request_seconds_bucket', 'strata_blockcache_seconds_bucket',
      'strata_gateway_request_seconds_bucket', 'strata_blockcache_errors_total', 'strata_remotecache_peers', 'strata_warmup_files_total', 'strata_import_files_total']) {
      expect(all, name).toContain(name);
    }
    for (const q of [0.5, 0.95, 0.99]) expect(all).toContain(`histogram_quantile(${q}, sum by (le, op) (rate(strata_fuse_op_seconds_bucket`);
  });

  it('gives each panel its own id and a place on the 24-column grid that no other panel takes', () => {
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    const taken = new Set<string>();
    for (const p of dashboard.panels) {
      const { x, y, w, h } = p.gridPos;
      expect(x + w, p.title).toBeLessThanOrEqual(24);
      for (let i = x; i < x + w; i++) for (let j = y; j < y + h; j++) {
        expect(taken.has(`${i},${j}`), `${p.title} overlaps at ${i},${j}`).toBe(false);
        taken.add(`${i},${j}`);
      }
    }
  });
});
