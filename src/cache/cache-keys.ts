import { Injectable, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';

/** Row of `auth_secrets` holding this deployment's cache scope (shared by its nodes). */
const SCOPE_ROW = 'cache-scope';

/**
 * Keys of the identity and permission facts kept in the CacheService (which prefixes them with
 * `aerugo:`). Each key holds one fact that one kind of write changes. No write invalidates by
 * hand: every write records its event in its transaction (EventsService), and the after-commit
 * consumers of that event invalidate exactly the keys it affects, on the node that made the write,
 * before the write returns (the CacheService explains why a load racing such a write can never
 * store what the write replaced). The event names what is gone after the commit (the members of a
 * deleted organization or team, the keys of a deleted user or robot). Below, each key with the
 * events whose consumers invalidate it:
 *
 * - `acl:<scope>:repo:<name>`: a repository's id, namespace, visibility and user/team grants, or
 *   that no repository has this name. `repository.created` (management API, or the first push in
 *   ReposService.findOrCreate), `repository.updated`, `repository.grants.changed`,
 *   `repository.deleted` (ReposService), and `team.deleted` for the repositories the team had
 *   grants on.
 * - `acl:<scope>:ns:<name>`: the kind of a held name (user, org, reserved), or that nobody holds
 *   it. `user.created`, `org.created`, `repository.created` (its namespace: a name nobody held is
 *   reserved in that transaction, NamespacesService.ensureHeld), `user.deleted`, `org.deleted`
 *   (NamespacesService; a held name never changes kind).
 * - `acl:<scope>:user:<id>`: a user's name, admin and active flags, credential generation,
 *   organization roles and team ids. `user.updated`, `user.password.changed`, `user.deleted`
 *   (UsersService); `org.created` (its owner), `org.member.*`, `team.member.*`, `org.deleted` and
 *   `team.deleted` (their members), `team.updated` changing `canCreateRepositories` (its members)
 *   (OrgsService).
 * - `acl:<scope>:apikey:hash:<sha256>` and `acl:<scope>:apikey:id:<id>`: an unrevoked API key's
 *   owner (a user, or a robot and its namespace), scope and expiry. `apikey.revoked`,
 *   `user.updated` deactivating its user, `user.deleted` and `robot.deleted` (the keys they name)
 *   invalidate both (ApiKeysService).
 * - `acl:<scope>:robots:<namespace>`: the robot accounts of a namespace (name, grants, disabled,
 *   expiry). `robot.created`, `robot.updated`, `robot.deleted`, and `user.deleted` or `org.deleted`
 *   of the namespace's holder (RobotsService); a robot's key is usable only while its robot is
 *   listed here, so a namespace deleted and created again never revives the old robots.
 * - `acl:<scope>:session:<id>`: a sign-in session's user, expiry and whether it was ended (what
 *   access tokens and registry tokens naming the session are checked against on every request);
 *   only in Redis (with the memory cache, sessions are read from PostgreSQL: nodes sharing a
 *   database without Redis must still refuse an ended session at once, SessionsService.isActive).
 *   `session.revoked` (sign-out, revocation, refresh-token reuse), `user.password.changed` and
 *   `user.updated` ending the user's sessions (password change or reset, deactivation; their
 *   consumer forgets every ended, unexpired session of the user), and a refresh-token rotation,
 *   which moves its expiry (SessionsService). A deleted user's sessions go with the user, whose facts then refuse.
 *
 * `auth-limit:<scope>:<account or address>` are not cache entries but the shared counters of the
 * sign-in and registration limits (RedisAttemptLimiter), named here so that they are scoped alike.
 *
 * "Not found" is cached only for repositories and names (`negative`), so that a missing name costs
 * what an existing private one costs; a missing user, API key or session is read from PostgreSQL
 * every time (key hashes are random: caching misses would let anyone fill the cache).
 *
 * `<scope>` is a random id made once per database (kept in it, so every node of a deployment
 * shares it): deployments or test databases sharing one Redis never read each other's facts,
 * though their repositories and names may be the same.
 */
@Injectable()
export class CacheKeys implements OnModuleInit {
  private scope: string | undefined;

  constructor(@InjectDataSource() private readonly db: DataSource) {}

  async onModuleInit(): Promise<void> {
    await this.db.query(
      'INSERT INTO auth_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING',
      [SCOPE_ROW, randomUUID()],
    );
    const rows: { value: string }[] = await this.db.query(
      'SELECT value FROM auth_secrets WHERE name = $1',
      [SCOPE_ROW],
    );
    this.scope = rows[0].value;
  }

  private scoped(kind: string, rest: string): string {
    if (this.scope === undefined) throw new Error('cache scope not loaded yet');
    return `${kind}:${this.scope}:${rest}`;
  }

  private key(rest: string): string {
    return this.scoped('acl', rest);
  }

  repoFacts(name: string): string {
    return this.key(`repo:${name}`);
  }

  namespaceKind(name: string): string {
    return this.key(`ns:${name}`);
  }

  userFacts(userId: string): string {
    return this.key(`user:${userId}`);
  }

  apiKeyByHash(sha256Hex: string): string {
    return this.key(`apikey:hash:${sha256Hex}`);
  }

  apiKeyById(id: string): string {
    return this.key(`apikey:id:${id}`);
  }

  robotsOf(namespace: string): string {
    return this.key(`robots:${namespace}`);
  }

  sessionFacts(sessionId: string): string {
    return this.key(`session:${sessionId}`);
  }

  /**
   * What a tag of a repository points at (registry content, not an access fact). Repository ids
   * are random, so these keys need no scope. `manifest.pushed`, `manifest.deleted` and
   * `tag.deleted` naming the tag invalidate it (ManifestsService).
   */
  tagRef(repositoryId: string, tag: string): string {
    return `tagref:${repositoryId}:${tag}`;
  }

  /** A manifest by its sha256 digest: immutable while it exists; `manifest.deleted` invalidates it. */
  manifest(repositoryId: string, sha256: string): string {
    return `manifest:${repositoryId}:${sha256}`;
  }

  /**
   * The size of a blob linked into a repository (registry content, unscoped like `tagref`): that
   * the link exists, and the blob is not being deleted. Only a link's existence is cached, never
   * its absence. Every removal of a link invalidates it: `DELETE /v2/<name>/blobs/<digest>` and the
   * collector's removal of dangling links (both record `blob.unlinked`, BlobsService). A deleted
   * repository's links go with it (cascade) without invalidating theirs: its name's facts are
   * invalidated, so no request reaches its id again (ids are never reused), and the entries
   * expire. A blob is deleted only when no link is left (src/gc/gc.service.ts), so no entry
   * outlives its bytes.
   */
  blobLink(repositoryId: string, digest: string): string {
    return `blob:${repositoryId}:${digest}`;
  }

  /** A sign-in or registration counter (without the `aerugo:` prefix the limiter adds). */
  signInFailures(limitKey: string): string {
    return this.scoped('auth-limit', limitKey);
  }
}
