import type { Actor } from '../common/actor.js';
import { event } from '../events/events.js';
import type { EventsService } from '../events/events.service.js';
import { RegistryError } from './errors.js';

export interface QuotaFacts {
  namespace: string;
  /** The namespace's usage before the refused blob. */
  usage: number;
  size: number;
  quota: number;
}

/** A link refused because it takes its namespace past its quota (the spec's DENIED). */
export class QuotaRefusedError extends RegistryError {
  constructor(
    message: string,
    readonly facts: QuotaFacts,
  ) {
    super('DENIED', message, facts);
  }
}

/**
 * Runs `work` (a transaction that links a blob) and, when it was refused for the quota, records
 * `quota.refused` on its own (the refused transaction recorded nothing) before passing the error
 * on: the audit log and webhooks see refusals as they see writes.
 */
export async function recordingQuotaRefusal<T>(
  events: EventsService,
  actor: Actor,
  target: { repositoryId: string; repository: string; digest: string },
  work: () => Promise<T>,
): Promise<T> {
  try {
    return await work();
  } catch (e) {
    if (e instanceof QuotaRefusedError)
      await events.recordAlone(event('quota.refused', actor, { ...target, ...e.facts }));
    throw e;
  }
}
