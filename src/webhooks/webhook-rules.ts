import type { Actor } from '../common/actor.js';
import { matchesPattern } from '../common/patterns.js';
import type { RecordedEvent } from '../events/events.js';

/**
 * Which events a webhook hears, what each delivery says, and when a failed one is tried again,
 * as pure functions.
 *
 * Event types a webhook subscribes to:
 * - `push`: a manifest was pushed (`manifest.pushed`), with the tags it was pushed with.
 * - `delete`: a manifest was deleted by digest, with the tags that pointed at it
 *   (`manifest.deleted`), or a whole repository was deleted (`repository.deleted`).
 * - `tag`: a tag was deleted (`tag.deleted`) or moved to another manifest by a push (one
 *   `tag` delivery per push naming the moved tags, besides the `push` delivery).
 * - `quota`: a blob upload or mount refused for the namespace's quota (`quota.refused`).
 * - `scan`: reserved; accepted, nothing sends it yet.
 *
 * A webhook limited to repositories hears only events of repositories whose path below the
 * namespace matches one of its patterns: `*` stands for any characters except `/`, `**` for any
 * characters; `app` matches only `<namespace>/app`, `web/*` every repository directly under
 * `<namespace>/web/`, `web/**` every repository below it. No pattern: every repository.
 *
 * The event id (`<outbox id>-<type>`) is the same in every attempt and every redelivery of one
 * event: receivers deduplicate with it (delivery is at least once). The delivery id differs per
 * delivery (a redelivery has a new one).
 */
export const WEBHOOK_EVENT_TYPES = ['push', 'delete', 'tag', 'quota', 'scan'] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** The body of a delivery, apart from its delivery id (added when it is sent). */
export interface WebhookEventBody {
  eventId: string;
  type: WebhookEventType;
  /** What happened: the domain event's name, or `tag.moved`. */
  action: string;
  occurredAt: string;
  namespace: string;
  repository: string;
  tags?: string[];
  tag?: string;
  digest?: string;
  mediaType?: string;
  /** Bytes of the manifest, when known (of the refused blob, for `quota`). */
  size?: number;
  /** `quota`: the namespace's usage before the refused blob, and its quota, in bytes. */
  usage?: number;
  quota?: number;
  actor: { kind: string; name: string | null };
}

/** What a delivery needs from the event besides its payload. */
export interface EventFacts {
  /** Tags a push moved from another manifest. */
  movedTags?: string[];
  size?: number;
}

export function actorOf(actor: Actor): WebhookEventBody['actor'] {
  const p = actor.principal;
  switch (p.kind) {
    case 'user':
      return { kind: 'user', name: p.username };
    case 'robot':
      return { kind: 'robot', name: `${p.namespace}+${p.name}` };
    case 'system':
      return { kind: 'system', name: p.name };
    case 'anonymous':
      return { kind: 'anonymous', name: null };
  }
}

/** The repository an event is about, for the events webhooks hear; undefined for the others. */
export function repositoryOf(e: RecordedEvent): string | undefined {
  switch (e.name) {
    case 'manifest.pushed':
    case 'manifest.deleted':
    case 'tag.deleted':
    case 'repository.deleted':
    case 'quota.refused':
      return (e.payload as { repository: string }).repository;
    default:
      return undefined;
  }
}

/** The deliveries one event makes (one body per event type), before webhooks are matched. */
export function webhookEventsOf(e: RecordedEvent, facts: EventFacts = {}): WebhookEventBody[] {
  const repository = repositoryOf(e);
  if (repository === undefined) return [];
  const base = (type: WebhookEventType, action: string) => ({
    eventId: `${e.id}-${type}`,
    type,
    action,
    occurredAt: new Date(e.occurredAt).toISOString(),
    namespace: repository.split('/')[0],
    repository,
  });
  const actor = actorOf(e.actor);
  switch (e.name) {
    case 'manifest.pushed': {
      const p = e.payload as RecordedEvent<'manifest.pushed'>['payload'];
      const about = {
        digest: p.digest,
        mediaType: p.mediaType,
        ...(facts.size !== undefined ? { size: facts.size } : {}),
      };
      const out: WebhookEventBody[] = [
        { ...base('push', 'manifest.pushed'), tags: p.tags, ...about, actor },
      ];
      if (facts.movedTags?.length)
        out.push({ ...base('tag', 'tag.moved'), tags: facts.movedTags, ...about, actor });
      return out;
    }
    case 'manifest.deleted': {
      const p = e.payload as RecordedEvent<'manifest.deleted'>['payload'];
      return [{ ...base('delete', e.name), tags: p.tags, digest: p.digest, actor }];
    }
    case 'tag.deleted': {
      const p = e.payload as RecordedEvent<'tag.deleted'>['payload'];
      return [{ ...base('tag', e.name), tag: p.tag, tags: [p.tag], actor }];
    }
    case 'repository.deleted':
      return [{ ...base('delete', e.name), actor }];
    case 'quota.refused': {
      const p = e.payload as RecordedEvent<'quota.refused'>['payload'];
      return [
        {
          ...base('quota', e.name),
          digest: p.digest,
          size: p.size,
          usage: p.usage,
          quota: p.quota,
          actor,
        },
      ];
    }
    default:
      return [];
  }
}

const PATTERN = /^(?:[a-z0-9._*-]+)(?:\/[a-z0-9._*-]+)*$/;

/** Whether a repository pattern is well formed (lower case path segments, `*` and `**`). */
export function isRepositoryPattern(p: string): boolean {
  return p.length <= 255 && PATTERN.test(p);
}

/**
 * Whether `repository` (`<namespace>/<path>`) is one the patterns name (none: every one). The
 * patterns apply to the path below the namespace: `*` stays within one component, `**` spans
 * components (the `path` mode of common/patterns.ts).
 */
export function matchesRepositories(patterns: string[], repository: string): boolean {
  if (!patterns.length) return true;
  const path = repository.slice(repository.indexOf('/') + 1);
  return patterns.some((p) => matchesPattern('path', p, path));
}

/** Seconds to wait after failed attempt number `attempt` (1-based): base × 2^(attempt-1), ≤ 1 h. */
export function retryDelaySeconds(attempt: number, baseSeconds: number): number {
  return Math.min(3600, baseSeconds * 2 ** Math.max(0, Math.min(attempt - 1, 30)));
}
