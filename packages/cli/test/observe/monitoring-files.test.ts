import { execFileSync, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { PipelineMetrics } from '../../src/observe/metrics-server.js';
import { streamMetrics } from '../helpers.js';
import { MONITORING_DIR, RULES_FILE, RULES_TEST_FILE, referencedMetrics } from '../monitoring.js';

/** promtool comes with Debian's `prometheus` package (.ci/run installs it); without it the rule checks cannot run. */
const promtool = spawnSync('promtool', ['--version'], { stdio: 'ignore' }).status === 0;

describe('the alert rules and the Grafana dashboard (docs/monitoring)', () => {
  it.skipIf(!promtool)('pass promtool check rules, and fire as promtool test rules expects', () => {
    const check = execFileSync('promtool', ['check', 'rules', RULES_FILE], { encoding: 'utf8' });
    expect(check).toContain('SUCCESS: 9 rules found');
    const test = spawnSync('promtool', ['test', 'rules', RULES_TEST_FILE], { cwd: MONITORING_DIR, encoding: 'utf8' });
    expect(test.stdout + test.stderr).toContain('SUCCESS');
    expect(test.status).toBe(0);
  });

  it('use only metrics the exporter has', async () => {
    // The log readers' figures (adapters/postgres and adapters/mysql, src/log-reader.ts); the
    // exporter names them. A real Postgres pipeline's are checked in e2e/status-page-browser.test.ts.
    const log = { slotLagBytes: 1, confirmedFlushLsn: 2, serverWalEndLsn: 3, queuedMessages: 0, binlogLagBytes: 4 };
    const metrics = new PipelineMetrics(
      {
        state: 'stream',
        metrics: () => streamMetrics({ currentFetchEventTimeLag: 1, currentEmitEventTimeLag: 1, log }),
        progress: () => ({ batches: 0, events: 0, checkpointStoredAt: 0, restarts: 0, writeSeconds: 0 }),
      },
      'p',
      { processMetrics: false },
    );
    const exported = new Set((await metrics.registry.getMetricsAsJSON()).map((m) => m.name));
    const referenced = referencedMetrics();
    expect(referenced.length).toBeGreaterThan(10);
    expect(referenced.filter((name) => !exported.has(name))).toEqual([]);
  });
});
