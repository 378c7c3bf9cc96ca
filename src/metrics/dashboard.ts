// The Grafana dashboard for Strata, built from the metric names the layers register. Its JSON is
// committed as docs/grafana/strata.json (`npm run dashboard` writes it; a test checks that the
// file is what this builds, that every query parses as PromQL and names a metric that exists).
// Typed against Grafana's published dashboard schema (@grafana/schema), so a panel or field that
// schema does not know fails the type check.
import type { Dashboard, Panel, RowPanel } from '@grafana/schema';

const DS = { type: 'prometheus', uid: '${datasource}' };
const SEL = 'volume=~"$volume", instance=~"$instance"';
const WIDTH = 24;

interface Query {
  expr: string;
  legend: string;
}

/** P50/P95/P99 of a latency histogram, by `by`. */
function percentiles(metric: string, by: string, extra = ''): Query[] {
  const sel = extra ? `${SEL}, ${extra}` : SEL;
  return [0.5, 0.95, 0.99].map((q) => ({
    expr: `histogram_quantile(${q}, sum by (le, ${by}) (rate(${metric}_bucket{${sel}}[$__rate_interval])))`,
    legend: `{{${by.split(',').map((b) => b.trim()).join('}} {{')}}} p${Math.round(q * 100)}`,
  }));
}

function rate(metric: string, by: string, legend: string, extra = ''): Query {
  const sel = extra ? `${SEL}, ${extra}` : SEL;
  return { expr: `sum by (${by}) (rate(${metric}{${sel}}[$__rate_interval]))`, legend };
}

function level(metric: string, by: string, legend: string): Query {
  return { expr: `sum by (${by}) (${metric}{${SEL}})`, legend };
}

class Layout {
  readonly panels: Array<Panel | RowPanel> = [];
  #id = 1;
  #y = 0;
  #x = 0;
  #rowHeight = 0;

  row(title: string): void {
    this.#newLine();
    this.panels.push({ type: 'row', id: this.#id++, title, collapsed: false, gridPos: { x: 0, y: this.#y, w: WIDTH, h: 1 }, panels: [] });
    this.#y += 1;
  }

  graph(title: string, unit: string, queries: Query[], description: string, w = 12, h = 8): void {
    if (this.#x + w > WIDTH) this.#newLine();
    this.panels.push({
      type: 'timeseries', id: this.#id++, title, description, datasource: DS,
      gridPos: { x: this.#x, y: this.#y, w, h },
      fieldConfig: { defaults: { unit, custom: { drawStyle: 'line', lineWidth: 1, fillOpacity: 0, showPoints: 'never' } }, overrides: [] },
      options: { legend: { displayMode: 'table', placement: 'right', calcs: ['mean', 'max'] }, tooltip: { mode: 'multi', sort: 'desc' } },
      targets: queries.map((q, i) => ({ refId: String.fromCharCode(65 + i), datasource: DS, expr: q.expr, legendFormat: q.legend })),
    });
    this.#x += w;
    this.#rowHeight = Math.max(this.#rowHeight, h);
  }

  #newLine(): void {
    if (this.#x === 0) return;
    this.#y += this.#rowHeight;
    this.#x = 0;
    this.#rowHeight = 0;
  }
}

export function grafanaDashboard(): Dashboard {
  const l = new Layout();
  l.row('Overview');
  l.graph('Throughput by entrypoint', 'Bps', [
    rate('strata_read_bytes_total', 'entrypoint', 'read {{entrypoint}}'),
    rate('strata_write_bytes_total', 'entrypoint', 'write {{entrypoint}}'),
  ], 'File bytes read and written through the FUSE mount, the SDK and the S3 gateway.');
  l.graph('Requests per second by layer', 'reqps', [
    rate('strata_fuse_op_seconds_count', 'volume', 'fuse'),
    rate('strata_meta_call_seconds_count', 'volume', 'meta'),
    rate('strata_object_request_seconds_count', 'volume', 'object store'),
    rate('strata_gateway_request_seconds_count', 'volume', 'gateway'),
  ], 'Which layer is busy: FUSE requests reaching JS, metadata calls, object-store requests, gateway requests.');

  l.row('FUSE');
  l.graph('FUSE latency by op', 's', percentiles('strata_fuse_op_seconds', 'op'), 'From the request reaching JS to its answer. Requests the native cache answers never get here.', 16);
  l.graph('FUSE errors by op', 'reqps', [rate('strata_fuse_op_errors_total', 'op', '{{op}}')], 'Requests answered with an errno (ENOENT of a lookup included).', 8);

  l.row('Metadata');
  l.graph('Metadata latency by call', 's', percentiles('strata_meta_call_seconds', 'call, engine'), 'Every Meta call, by call and engine (sqlite, postgres, mysql).', 16);
  l.graph('Metadata calls and sessions', 'short', [
    rate('strata_meta_call_seconds_count', 'call', '{{call}} /s'),
    rate('strata_meta_call_errors_total', 'call', '{{call}} errors/s'),
    { expr: `max by (volume) (strata_sessions{${SEL}})`, legend: 'sessions' },
  ], 'Calls per second and failures by call; live client sessions of the volume.', 8);

  l.row('Object store');
  l.graph('Object-store latency by op', 's', percentiles('strata_object_request_seconds', 'op, store'), 'Requests to object storage, retries included.', 16);
  l.graph('Object-store traffic', 'Bps', [
    rate('strata_object_bytes_total', 'direction', '{{direction}}'),
    rate('strata_object_request_errors_total', 'op', '{{op}} errors/s'),
  ], 'Bytes up and down; requests that failed after their retries.', 8);

  l.row('Block cache');
  l.graph('Block-cache latency', 's', percentiles('strata_blockcache_seconds', 'tier, op'), 'Reads (hits) and writes of the local cache disks and of cache-group members.', 12);
  l.graph('Hits and misses', 'ops', [
    rate('strata_memcache_hits_total', 'volume', 'memory hits'),
    rate('strata_memcache_misses_total', 'volume', 'memory misses'),
    rate('strata_blockcache_hits_total', 'volume', 'disk hits'),
    rate('strata_blockcache_misses_total', 'volume', 'disk misses'),
    rate('strata_remotecache_hits_total', 'volume', 'group hits'),
    rate('strata_remotecache_misses_total', 'volume', 'group misses'),
  ], 'Where block reads were served from.', 12);
  l.graph('Cache size per directory', 'bytes', [
    level('strata_blockcache_bytes', 'dir', '{{dir}}'),
    level('strata_memcache_bytes', 'volume', 'memory'),
  ], 'Bytes of blocks on each cache disk, and verified blocks held in memory.', 8);
  l.graph('blockcache.errors', 'short', [
    rate('strata_blockcache_errors_total', 'dir', '{{dir}}'),
    rate('strata_checksum_failures_total', 'volume', 'checksum failures'),
  ], 'Cache-disk errors per directory (each read fell back to the store), and blocks that failed verification.', 8);
  l.graph('remotecache.peers', 'short', [
    level('strata_remotecache_peers', 'volume', 'peers'),
    rate('strata_remotecache_errors_total', 'volume', 'member errors/s'),
  ], 'Cache-group members this process reaches, and member requests that failed or timed out.', 8);
  l.graph('Read-ahead', 'short', [
    rate('strata_readahead_hits_total', 'volume', 'prefetched blocks used/s'),
    rate('strata_readahead_wasted_bytes_total', 'volume', 'bytes prefetched unused/s'),
  ], 'Whether read-ahead guesses right.', 12);
  l.graph('Entries per directory', 'short', [level('strata_blockcache_entries', 'dir', '{{dir}}')], 'Blocks on each cache disk.', 12);

  l.row('Write path');
  l.graph('Write buffer', 'bytes', [
    level('strata_buffer_used_bytes', 'volume', 'in use'),
    level('strata_buffer_size_bytes', 'volume', 'size'),
    level('strata_writeback_staged_bytes', 'volume', 'write-back staged'),
  ], 'Buffered writes against the buffer size; blocks staged locally by write-back and not uploaded yet.');
  l.graph('Uploads', 'short', [
    level('strata_uploads_pending', 'volume', 'pending uploads'),
    level('strata_writeback_staged_objects', 'volume', 'staged blocks'),
    rate('strata_writeback_upload_errors_total', 'volume', 'write-back upload errors/s'),
  ], 'Block uploads running or waiting; write-back backlog and its failures.');

  l.row('S3 gateway');
  l.graph('Gateway latency by operation', 's', percentiles('strata_gateway_request_seconds', 'operation'), 'From a request\'s arrival to the end of its answer (a GET includes streaming the body).', 16);
  l.graph('Gateway requests by status', 'reqps', [rate('strata_gateway_request_seconds_count', 'status', '{{status}}')], 'Requests per second by HTTP status.', 8);

  l.row('Jobs: warmup and import');
  l.graph('Warmup', 'short', [
    rate('strata_warmup_files_total', 'volume', 'files/s'),
    rate('strata_warmup_dirs_total', 'volume', 'dirs/s'),
    rate('strata_warmup_blocks_total', 'result', 'blocks {{result}}/s'),
    rate('strata_warmup_bytes_total', 'volume', 'bytes fetched/s'),
  ], 'Directories, files, blocks and bytes warmup handled.');
  l.graph('Import', 'short', [
    rate('strata_import_files_total', 'result', 'files {{result}}/s'),
    rate('strata_import_bytes_total', 'result', 'bytes {{result}}/s'),
  ], 'Objects imported, skipped and failed, with their bytes.');

  l.row('Processes');
  l.graph('Resident memory', 'bytes', [{ expr: 'process_resident_memory_bytes{instance=~"$instance"}', legend: '{{instance}}' }], 'Memory of each Strata process.', 8);
  l.graph('CPU', 'percentunit', [{ expr: 'rate(process_cpu_seconds_total{instance=~"$instance"}[$__rate_interval])', legend: '{{instance}}' }], 'CPU time per second (1 = one core).', 8);
  l.graph('Event-loop delay p99', 's', [{ expr: 'nodejs_eventloop_lag_p99_seconds{instance=~"$instance"}', legend: '{{instance}}' }], 'A busy JS thread delays every request of the process.', 8);

  const dashboard: Dashboard = {
    title: 'Strata',
    uid: 'strata-overview',
    description: 'Strata file system: FUSE, metadata, object store, block cache, gateway — rates and P50/P95/P99 latencies per layer.',
    tags: ['strata', 'storage'],
    schemaVersion: 39,
    editable: true,
    graphTooltip: 1,
    refresh: '10s',
    time: { from: 'now-1h', to: 'now' },
    timezone: 'browser',
    templating: {
      list: [
        { name: 'datasource', label: 'Data source', type: 'datasource', query: 'prometheus' },
        {
          name: 'volume', label: 'Volume', type: 'query', datasource: DS, query: { query: 'label_values(strata_meta_call_seconds_count, volume)', refId: 'volume' },
          multi: true, includeAll: true, allValue: '.*', refresh: 2,
        },
        {
          name: 'instance', label: 'Instance', type: 'query', datasource: DS, query: { query: 'label_values(process_resident_memory_bytes, instance)', refId: 'instance' },
          multi: true, includeAll: true, allValue: '.*', refresh: 2,
        },
      ],
    },
    annotations: { list: [] },
    panels: l.panels,
  };
  return dashboard;
}
