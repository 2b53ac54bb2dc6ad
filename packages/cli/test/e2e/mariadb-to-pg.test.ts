import { startMariadb } from '@highwater/test-servers';
import { describeKillScenario } from './scenario.js';

// MariaDB → Postgres through the built `highwater` command, SIGKILLed and restarted under a write load.
describeKillScenario({
  title: 'MariaDB → Postgres',
  name: 'mariadb-to-pg',
  dialect: 'mariadb',
  startSource: () => startMariadb({ useEnv: false }),
});
