// Scraping a /metrics endpoint in tests. The text is parsed by the Prometheus project's own
// Python client (Debian's python3-prometheus-client, text_string_to_metric_families), not by
// Strata's code: what it accepts is what a Prometheus server accepts.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { need } from './require.js';

const PYTHON = '/usr/bin/python3';
const PARSE = `
import json, math, sys
from prometheus_client.parser import text_string_to_metric_families
# JSON has no NaN or infinities: those go as strings, which Number() reads back.
num = lambda v: v if math.isfinite(v) else str(v)
out = []
for f in text_string_to_metric_families(sys.stdin.read()):
    out.append({"name": f.name, "type": f.type, "help": f.documentation,
                "samples": [{"name": s.name, "labels": s.labels, "value": num(s.value)} for s in f.samples]})
json.dump(out, sys.stdout)
`;

function missing(): string | null {
  if (!existsSync(PYTHON)) return `${PYTHON} (Debian's python3)`;
  try {
    execFileSync(PYTHON, ['-c', 'import prometheus_client.parser'], { stdio: 'ignore' });
    return null;
  } catch {
    return "Debian's python3-prometheus-client (apt-get install python3-prometheus-client)";
  }
}
export const prometheusParserNeed = need('the Prometheus text-format parser', missing());

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}
export interface Family {
  name: string;
  type: string;
  help: string;
  samples: Sample[];
}
export type Scrape = Map<string, Family>;

/** Parse exposition text; throws what the parser objects to. */
export function parseMetrics(text: string): Scrape {
  const json = execFileSync(PYTHON, ['-c', PARSE], { input: text, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const families = JSON.parse(json) as Family[];
  for (const f of families) for (const s of f.samples) s.value = Number(s.value);
  return new Map(families.map((f) => [f.name, f]));
}

export async function scrape(url: string): Promise<Scrape> {
  const res = await fetch(url);
  if (res.status !== 200) throw new Error(`GET ${url}: ${res.status}`);
  const type = res.headers.get('content-type') ?? '';
  if (!type.startsWith('text/plain')) throw new Error(`GET ${url}: content-type ${type}`);
  return parseMetrics(await res.text());
}

const matches = (s: Sample, labels: Record<string, string>) => Object.entries(labels).every(([k, v]) => s.labels[k] === v);

/** The family `name` (a counter's name without _total, as the parser gives it). */
export function family(scraped: Scrape, name: string): Family {
  const f = scraped.get(name.replace(/_total$/, ''));
  if (!f) throw new Error(`no metric ${name} in the scrape (has: ${[...scraped.keys()].filter((k) => k.startsWith('strata_')).join(', ')})`);
  return f;
}

/** The sum of the matching samples of a counter or gauge. */
export function value(scraped: Scrape, name: string, labels: Record<string, string> = {}): number {
  const f = family(scraped, name);
  const sampleName = f.type === 'counter' ? `${f.name}_total` : f.name;
  return f.samples.filter((s) => s.name === sampleName && matches(s, labels)).reduce((n, s) => n + s.value, 0);
}

/** A histogram's matching series summed: count, sum and the cumulative count at each bound. */
export function histogram(scraped: Scrape, name: string, labels: Record<string, string> = {}): { count: number; sum: number; le: Map<number, number> } {
  const f = family(scraped, name);
  const le = new Map<number, number>();
  let count = 0;
  let sum = 0;
  for (const s of f.samples) {
    if (!matches(s, labels)) continue;
    if (s.name === `${name}_count`) count += s.value;
    else if (s.name === `${name}_sum`) sum += s.value;
    else if (s.name === `${name}_bucket`) {
      const bound = s.labels.le === '+Inf' ? Infinity : Number(s.labels.le);
      le.set(bound, (le.get(bound) ?? 0) + s.value);
    }
  }
  return { count, sum, le };
}
