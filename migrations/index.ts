import { RegistryCore1763800000000 } from './1763800000000-registry-core.js';

/** Every migration, in order. New migrations are appended here (and run at start-up). */
export const ALL_MIGRATIONS = [RegistryCore1763800000000];
