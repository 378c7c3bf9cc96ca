// npm run dashboard: write the Grafana dashboard built from the metric names to docs/grafana/.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packageRoot } from '../hotpath/locate.js';
import { grafanaDashboard } from './dashboard.js';

export const DASHBOARD_FILE = join('docs', 'grafana', 'strata.json');

export function dashboardJson(): string {
  return `${JSON.stringify(grafanaDashboard(), null, 2)}\n`;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const file = join(packageRoot(), DASHBOARD_FILE);
  mkdirSync(join(packageRoot(), 'docs', 'grafana'), { recursive: true });
  writeFileSync(file, dashboardJson());
  process.stdout.write(`wrote ${file}\n`);
}
