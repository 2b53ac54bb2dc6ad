import type { ConformanceCase } from '../case.js';
import { gracefulCloseCase } from './close.js';
import { concurrentWritesCase, visibilityLagCase } from './concurrent-writes.js';
import { crashResumeCase } from './crash-resume.js';
import {
  badConfigurationCase,
  foreignCheckpointCase,
  missingKeyCase,
  offsetUnavailableCase,
  permissionCase,
  unknownTableCase,
  unsupportedCase,
} from './errors.js';
import { compositeKeysCase, skewedKeysCase, stringKeysCase, uuidKeysCase } from './keys.js';
import { snapshotEmptyTableCase, snapshotEqualsTableCase } from './snapshot.js';
import {
  startupEarliestCase,
  startupInitialCase,
  startupLatestCase,
  startupOffsetCase,
  startupSnapshotCase,
  startupTimestampCase,
} from './startup.js';
import { addTablesCase, progressWhenIdleCase, schemaChangeCase, truncateCase } from './streaming.js';
import { valueTypesCase } from './value-types.js';

export {
  addTablesCase,
  badConfigurationCase,
  compositeKeysCase,
  concurrentWritesCase,
  crashResumeCase,
  foreignCheckpointCase,
  gracefulCloseCase,
  missingKeyCase,
  offsetUnavailableCase,
  permissionCase,
  progressWhenIdleCase,
  schemaChangeCase,
  skewedKeysCase,
  snapshotEmptyTableCase,
  snapshotEqualsTableCase,
  startupEarliestCase,
  startupInitialCase,
  startupLatestCase,
  startupOffsetCase,
  startupSnapshotCase,
  startupTimestampCase,
  stringKeysCase,
  truncateCase,
  unknownTableCase,
  unsupportedCase,
  uuidKeysCase,
  valueTypesCase,
  visibilityLagCase,
};

/** Every case, in the order the suite runs them. */
export const conformanceCases: readonly ConformanceCase[] = [
  snapshotEqualsTableCase,
  snapshotEmptyTableCase,
  concurrentWritesCase,
  visibilityLagCase,
  crashResumeCase,
  startupInitialCase,
  startupSnapshotCase,
  startupLatestCase,
  startupEarliestCase,
  startupOffsetCase,
  startupTimestampCase,
  compositeKeysCase,
  stringKeysCase,
  skewedKeysCase,
  uuidKeysCase,
  valueTypesCase,
  addTablesCase,
  schemaChangeCase,
  truncateCase,
  progressWhenIdleCase,
  missingKeyCase,
  unknownTableCase,
  offsetUnavailableCase,
  foreignCheckpointCase,
  unsupportedCase,
  badConfigurationCase,
  permissionCase,
  gracefulCloseCase,
];
