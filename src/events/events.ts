import type { Actor } from '../common/actor.js';

/**
 * Every write of Aerugo records exactly one of these events, in the transaction that makes the
 * write (the `outbox` table), so that an event exists if and only if its write committed.
 * Its side effects subscribe to events instead of being called by hand after each write: inside
 * the transaction (`EventsService.onRecord`: the audit log, webhook deliveries, tag history, ending
 * a user's sessions), or after the commit (`EventsService.on`: cache invalidation, waking the
 * webhook dispatcher). See the README's architecture section for which write records which event.
 *
 * Each payload names its target and what an after-commit consumer needs to know once the rows are
 * gone (the members of a deleted organization, the keys of a deleted user); the actor and the
 * request id travel in the envelope.
 */
/** A retention policy as events carry it (null: not set). */
export interface RetentionPolicyPayload {
  keepLatest: number | null;
  keepPattern: string[] | null;
  deleteNotPulledForDays: number | null;
  deleteUntaggedAfterDays: number | null;
}

export interface EventMap {
  // ---- registry content ---------------------------------------------------------------------
  /** A manifest was pushed (or pushed again) and its tags (if any) point at it. */
  'manifest.pushed': {
    repositoryId: string;
    repository: string;
    digest: string;
    tags: string[];
    mediaType: string;
    /** Bytes of the manifest itself. */
    size: number;
    /** False when the manifest was already stored (only tags moved, or nothing). */
    created: boolean;
    /** Tags of `tags` that pointed at another manifest before (`from`: its sha256 digest). */
    moved: { tag: string; from: string }[];
    /** Tags of `tags` that did not exist before (absent in older events). */
    createdTags?: string[];
  };
  /**
   * A manifest was served by a GET (recorded on its own, after the pull, and only with
   * AUDIT_PULLS=true: pulls are otherwise counted, not recorded one by one).
   */
  'manifest.pulled': {
    repositoryId: string;
    repository: string;
    /** The tag or digest the client asked for. */
    reference: string;
    digest: string;
  };
  /** A manifest was deleted by digest, with the tags that pointed at it. */
  'manifest.deleted': { repositoryId: string; repository: string; digest: string; tags: string[] };
  /** A tag was deleted (registry or management API); its manifest stays. */
  'tag.deleted': {
    repositoryId: string;
    repository: string;
    tag: string;
    /** The sha256 digest the tag pointed at (absent in older events). */
    digest?: string;
  };
  /** An upload completed: the blob is stored and linked into the repository. */
  'blob.pushed': { repositoryId: string; repository: string; digest: string; size: number };
  /** A blob another repository holds was linked into this one without copying. */
  'blob.mounted': {
    repositoryId: string;
    repository: string;
    digest: string;
    fromRepositoryId: string;
  };
  /** A blob was unlinked from a repository (its bytes stay until garbage collection). */
  'blob.unlinked': { repositoryId: string; repository: string; digest: string };
  /**
   * Garbage collection deleted a blob's bytes and its record: `unreferenced` after its grace
   * period, `orphaned` for bytes in the store that no record described.
   */
  'blob.deleted': { digest: string; size: number; reason: 'unreferenced' | 'orphaned' };

  // ---- storage ------------------------------------------------------------------------------
  /** A system administrator set (or with null lifted) a namespace's quota in bytes. */
  'namespace.quota.changed': { namespace: string; bytes: number | null };
  /**
   * A blob upload or mount refused because it takes its namespace past its quota (recorded on its
   * own: the refused write left nothing). `usage` is the namespace's usage before the blob.
   */
  'quota.refused': {
    namespace: string;
    repositoryId: string;
    repository: string;
    digest: string;
    size: number;
    usage: number;
    quota: number;
  };

  // ---- garbage collection -------------------------------------------------------------------
  /** A garbage collection run ended (a dry run deleted nothing and reports what would go). */
  'gc.completed': {
    runId: string;
    dryRun: boolean;
    trigger: 'schedule' | 'api';
    tagsDeleted: number;
    manifestsDeleted: number;
    linksDeleted: number;
    blobsQueued: number;
    blobsDeleted: number;
    bytesDeleted: number;
    uploadsDeleted: number;
    errors: number;
  };

  // ---- repositories -------------------------------------------------------------------------
  'repository.created': {
    repositoryId: string;
    repository: string;
    visibility: string;
    /** `push`: created by a first push; `api`: through the management API. */
    via: 'push' | 'api';
  };
  'repository.updated': {
    repositoryId: string;
    repository: string;
    visibility: string;
    description: string | null;
  };
  'repository.deleted': { repositoryId: string; repository: string };
  /** The immutable tag patterns of a repository were replaced (see registry/tag-rules.ts). */
  'repository.immutable_tags.changed': {
    repositoryId: string;
    repository: string;
    patterns: string[];
  };
  /** A repository's retention policy was replaced (src/retention/retention-rules.ts). */
  'repository.retention.changed': {
    repositoryId: string;
    repository: string;
    policy: RetentionPolicyPayload;
  };
  /** A namespace's default retention policy was replaced. */
  'namespace.retention.changed': { namespace: string; policy: RetentionPolicyPayload };
  /** One grant added, changed or removed (level null), or every grant replaced at once. */
  'repository.grants.changed': {
    repositoryId: string;
    repository: string;
    change:
      | { kind: 'user'; userId: string; level: string | null }
      | { kind: 'team'; teamId: string; level: string | null }
      | { kind: 'replaced'; users: number; teams: number };
  };

  // ---- identity and tenancy -----------------------------------------------------------------
  'user.created': { userId: string; username: string };
  'user.updated': {
    userId: string;
    username: string;
    fields: string[];
    /** The new value of the flags an administrator changed (absent: unchanged). */
    active?: boolean;
    isAdmin?: boolean;
  };
  /** The user's other sessions end with it (in its transaction), all but `keptSessionId`. */
  'user.password.changed': { userId: string; username: string; keptSessionId?: string };
  /** The user's API keys (`apiKeyIds`) and sessions went with the user. */
  'user.deleted': {
    userId: string;
    username: string;
    apiKeyIds?: string[];
    /** SHA-256 of those keys, for cache invalidation only (see NOT_AUDITED in audit-mapping.ts). */
    apiKeyHashes?: string[];
  };
  'apikey.created': { apiKeyId: string; userId: string; name: string };
  'apikey.revoked': { apiKeyId: string; userId: string };
  'robot.created': { robotId: string; namespace: string; name: string };
  'robot.updated': { robotId: string; namespace: string; name: string; fields: string[] };
  /** The robot's API keys went with it (`apiKeyHashes`: as for `user.deleted`). */
  'robot.deleted': {
    robotId: string;
    namespace: string;
    name: string;
    apiKeyIds?: string[];
    apiKeyHashes?: string[];
  };
  /** `ownerId`: the creator, its first owner (absent in older events). */
  'org.created': { organizationId: string; name: string; ownerId?: string };
  'org.updated': { organizationId: string; name: string };
  /** Its members (`memberIds`), teams and robots went with it. */
  'org.deleted': { organizationId: string; name: string; memberIds?: string[] };
  'org.member.added': { organizationId: string; name: string; userId: string; role: string };
  'org.member.updated': { organizationId: string; name: string; userId: string; role: string };
  'org.member.removed': { organizationId: string; name: string; userId: string };
  'team.created': { organizationId: string; teamId: string; team: string };
  /** `fields`: what changed (`canCreateRepositories` only when its value did). */
  'team.updated': { organizationId: string; teamId: string; team: string; fields?: string[] };
  /** Its memberships (`memberIds`) and its grants (on `repositories`) went with it. */
  'team.deleted': {
    organizationId: string;
    teamId: string;
    team: string;
    memberIds?: string[];
    repositories?: string[];
  };
  'team.member.added': { organizationId: string; teamId: string; team: string; userId: string };
  'team.member.removed': { organizationId: string; teamId: string; team: string; userId: string };

  // ---- webhooks (never their secret or URL: a URL may carry a token) -------------------------
  'webhook.created': { webhookId: string; namespace: string; events: string[] };
  'webhook.updated': { webhookId: string; namespace: string; fields: string[] };
  'webhook.deleted': { webhookId: string; namespace: string };
  'webhook.redelivered': {
    webhookId: string;
    namespace: string;
    deliveryId: string;
    redeliveryOf: string;
  };

  // ---- sign-in, sessions and tokens ---------------------------------------------------------
  /**
   * A password sign-in that started a session: the management API's `POST /auth/login`
   * (`via: 'api'`: its access and refresh token are issued with it) or a registry login that asked
   * for a refresh token (`via: 'registry'`, `docker login`), or an OpenID Connect sign-in through
   * the identity provider (`via: 'oidc'`, a session like `api`'s).
   */
  'auth.signed-in': {
    userId: string;
    username: string;
    sessionId: string;
    via: 'api' | 'registry' | 'oidc';
  };
  /**
   * A user name and password (or API key given as a password) that did not verify, on any route.
   * `userId`/`username` only when the name is an existing account's: a name nobody holds is not
   * kept (it may be a password typed into the wrong field). Never the password.
   */
  'auth.sign-in.failed': { userId?: string; username?: string };
  /** A session ended before its time: `logout`, `revoked` (by its user), `refresh-token-reuse`. */
  'session.revoked': { userId: string; sessionId: string; reason: string };
  /**
   * A registry token issued to a user by the token endpoint (`GET`/`POST /auth/token`) that grants
   * more than pulling, or any with AUDIT_PULLS=true. `scopes` in the `type:name:actions` form.
   */
  'token.issued': {
    userId: string;
    username: string;
    kind: 'registry';
    scopes: string[];
    /** How the token was obtained. */
    grant: 'password' | 'api-key' | 'refresh-token';
    sessionId?: string;
  };
}

export type EventName = keyof EventMap;

/** What a write hands to EventsService.record. */
export interface DomainEvent<K extends EventName = EventName> {
  name: K;
  actor: Actor;
  payload: EventMap[K];
}

/** An event as subscribers receive it: committed, with its outbox id. */
export interface RecordedEvent<K extends EventName = EventName> extends DomainEvent<K> {
  id: string;
  requestId: string;
  occurredAt: Date;
}

/** Builds a typed event (keeps the name and its payload in step). */
export function event<K extends EventName>(
  name: K,
  actor: Actor,
  payload: EventMap[K],
): DomainEvent<K> {
  return { name, actor, payload };
}
