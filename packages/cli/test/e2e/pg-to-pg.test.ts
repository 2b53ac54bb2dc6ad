import { startPostgres } from '@highwater/test-servers';
import { describeKillScenario } from './scenario.js';

// Postgres → Postgres through the built `highwater` command, SIGKILLed and restarted under a write load.
describeKillScenario({
  title: 'Postgres → Postgres',
  name: 'pg-to-pg',
  dialect: 'postgres',
  startSource: () => startPostgres({ useEnv: false }),
});
