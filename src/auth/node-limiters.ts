import type { AppConfig } from '../config/config.js';
import { isClusterWorker, sharedInPrimary, type SharedObjects } from '../cluster/cluster.js';
import { type AttemptLimiter, InMemoryAttemptLimiter } from './attempt-limiter.js';

export type NodeLimiterName = 'attempts' | 'registration';

const windowOf = (config: AppConfig, name: NodeLimiterName): number =>
  (name === 'attempts'
    ? config.auth.rateLimitWindowSeconds
    : config.auth.registrationLimitWindowSeconds) * 1000;

/** The limiter's methods that run in the primary (all of them but `close`). */
const LIMITER_METHODS = Object.getOwnPropertyNames(InMemoryAttemptLimiter.prototype).filter(
  (m) => m !== 'constructor' && m !== 'close',
);

/**
 * Without Redis, limits are counted per node: in this process, or — when the node runs several
 * worker processes — in its primary process, so that the limits are the node's, not each worker's.
 */
export function nodeAttemptLimiter(config: AppConfig, name: NodeLimiterName): AttemptLimiter {
  return isClusterWorker()
    ? sharedInPrimary<AttemptLimiter>(name, LIMITER_METHODS)
    : new InMemoryAttemptLimiter(windowOf(config, name));
}

/** The limiters a primary process keeps for its workers (see nodeAttemptLimiter). */
export function primaryLimiters(config: AppConfig): SharedObjects {
  const make = (name: NodeLimiterName) =>
    new InMemoryAttemptLimiter(windowOf(config, name)) as unknown as SharedObjects[string];
  return { attempts: make('attempts'), registration: make('registration') };
}
