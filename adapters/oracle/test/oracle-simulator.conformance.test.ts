import { registerConformanceTests } from '@highwater/conformance';
import { OracleSimulatorHarness } from './simulator/harness.js';

// The whole suite on the SIMULATOR (test/simulator): no Oracle server can run in CI. The real-server
// run is oracle-server.conformance.test.ts (HIGHWATER_ORACLE_URL).
registerConformanceTests({
  harness: new OracleSimulatorHarness(),
  skip: {
    'value-types':
      "Oracle stores '' and an empty RAW as NULL, and the case writes both; it runs below on a table without string and bytes columns, and redo-parser.property.test.ts covers those types on both paths",
  },
  timeoutMs: 60_000,
});

registerConformanceTests({
  harness: new OracleSimulatorHarness({
    name: 'oracle (simulator, no string/bytes columns)',
    columnTypes: ['int16', 'int32', 'int64', 'float32', 'float64', 'decimal', 'timestamp', 'timestamptz'],
  }),
  only: ['value-types'],
});

// The whole suite again on a multitenant SIMULATOR: the tables in the pluggable database FREEPDB1,
// LogMiner in CDB$ROOT for the common user C##CDC with `pdb: 'FREEPDB1'` (pluggable-database.test.ts
// shows a second PDB's redo kept out).
registerConformanceTests({
  harness: new OracleSimulatorHarness({
    name: 'oracle (simulator, multitenant: pdb FREEPDB1 mined in CDB$ROOT)',
    cdb: true,
  }),
  skip: {
    'value-types':
      "Oracle stores '' and an empty RAW as NULL, and the case writes both; run on a table without string and bytes columns above",
  },
  timeoutMs: 60_000,
});
