import { registerConformanceTests } from '@highwater/conformance';
import { describe, it } from 'vitest';
import type { OracleAdapterOptions } from '../src/index.js';
import { OracleServerHarness } from './oracle-server-harness.js';

const url = process.env.HIGHWATER_ORACLE_URL;
/** Optional: capture as another user (a common user on the CDB root's service) and/or from a PDB. */
const env = process.env;
const mining = env.HIGHWATER_ORACLE_PDB_MINING;
const capture: Partial<OracleAdapterOptions> = {
  ...(env.HIGHWATER_ORACLE_CAPTURE_URL ? { connection: env.HIGHWATER_ORACLE_CAPTURE_URL } : {}),
  ...(env.HIGHWATER_ORACLE_PDB ? { pdb: env.HIGHWATER_ORACLE_PDB } : {}),
  ...(mining === 'pdb' || mining === 'root' ? { pdbMining: mining } : {}),
};

if (url !== undefined && url !== '') {
  registerConformanceTests({
    harness: new OracleServerHarness(url, {}, capture),
    skip: {
      'value-types':
        "Oracle stores '' and an empty RAW as NULL, and the case writes both; it runs below on a table without string and bytes columns",
    },
    timeoutMs: 180_000,
  });
  registerConformanceTests({
    harness: new OracleServerHarness(
      url,
      {
        name: 'oracle (server, no string/bytes columns)',
        columnTypes: ['int16', 'int32', 'int64', 'float32', 'float64', 'decimal', 'timestamp', 'timestamptz'],
      },
      capture,
    ),
    only: ['value-types'],
    timeoutMs: 180_000,
  });
} else {
  describe('Highwater conformance: oracle (server)', () => {
    // No Oracle server can run on CI machines; the same suite runs on the simulator
    // (oracle-simulator.conformance.test.ts). Set HIGHWATER_ORACLE_URL to run it against a real one.
    it.skip('needs HIGHWATER_ORACLE_URL=oracle://user:password@host:1521/FREEPDB1 (see docker/compose.yaml)', () => {});
  });
}
