import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The alert rules and the Grafana dashboard shipped in docs/monitoring. */
export const MONITORING_DIR = fileURLToPath(new URL('../../../docs/monitoring/', import.meta.url));
export const RULES_FILE = `${MONITORING_DIR}highwater.rules.yml`;
export const RULES_TEST_FILE = `${MONITORING_DIR}highwater.rules.test.yml`;
export const DASHBOARD_FILE = `${MONITORING_DIR}grafana-dashboard.json`;

/** Every `highwater_…` metric name the rules and the dashboard's queries use. */
export function referencedMetrics(): string[] {
  const dashboard = JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as {
    panels: { targets: { expr: string }[] }[];
    templating: { list: { definition?: string }[] };
  };
  const queries = [
    ...dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr)),
    ...dashboard.templating.list.flatMap((v) => (v.definition === undefined ? [] : [v.definition])),
    readFileSync(RULES_FILE, 'utf8')
      .split('\n')
      .filter((line) => !line.trimStart().startsWith('#'))
      .join('\n'),
  ];
  return [...new Set(queries.flatMap((q) => q.match(/\bhighwater_[a-z0-9_]+/g) ?? []))].sort();
}
