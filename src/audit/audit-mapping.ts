import type { Actor } from '../common/actor.js';
import type { RecordedEvent } from '../events/events.js';

/** One `audit_log` row, as the subscriber inserts it (at its transaction's time). */
export interface AuditRow {
  eventId: string;
  action: string;
  actorKind: string;
  actorId: string | null;
  actorName: string | null;
  credential: string;
  apiKeyId: string | null;
  clientAddress: string | null;
  requestId: string;
  namespace: string | null;
  repository: string | null;
  target: string | null;
  details: Record<string, unknown>;
}

/** Names of users and organizations by id, looked up in the event's transaction. */
export interface AuditNames {
  users: ReadonlyMap<string, string>;
  orgs: ReadonlyMap<string, string>;
}

/** What an extractor finds in a payload; `used` are the payload keys its columns already hold. */
interface Subject {
  namespace?: string | null;
  repository?: string | null;
  target?: string | null;
  used?: string[];
}

type Payload = Record<string, unknown>;
type Extractor = (p: Payload, names: AuditNames) => Subject;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(v: unknown): v is string {
  return typeof v === 'string' && UUID.test(v);
}

function str(v: unknown): string | null {
  return typeof v === 'string' && v.length ? v : null;
}

/** The namespace of a repository name: its first component. */
export function namespaceOf(repository: string): string {
  return repository.split('/')[0];
}

const userName = (names: AuditNames, id: unknown): string | null =>
  (typeof id === 'string' && names.users.get(id)) || null;

const ofUser: Extractor = (p) => ({
  namespace: str(p.username),
  target: str(p.username),
  used: ['username'],
});
const ofOrg: Extractor = (p) => ({ namespace: str(p.name), target: str(p.name), used: ['name'] });
const ofOrgMember: Extractor = (p, n) => ({
  namespace: str(p.name),
  target: userName(n, p.userId),
  used: ['name'],
});
const ofTeam: Extractor = (p, n) => ({
  namespace: n.orgs.get(String(p.organizationId)) ?? null,
  target: str(p.team),
  used: ['team'],
});
const ofTeamMember: Extractor = (p, n) => ({
  namespace: n.orgs.get(String(p.organizationId)) ?? null,
  target: userName(n, p.userId),
});
const ofKeyOwner =
  (targetKey: string): Extractor =>
  (p, n) => ({ namespace: userName(n, p.userId), target: str(p[targetKey]), used: [targetKey] });

/**
 * Events whose namespace or target is not found by the generic rules (see `subjectOf`): those
 * naming users or organizations by id, or their subject under another key. Events not listed
 * here (including ones added later) are still audited by the generic rules.
 */
export const EXTRACTORS: Readonly<Record<string, Extractor>> = {
  'user.created': ofUser,
  'user.updated': ofUser,
  'user.password.changed': ofUser,
  'user.deleted': ofUser,
  'auth.signed-in': ofUser,
  'auth.sign-in.failed': ofUser,
  'token.issued': (p) => ({ namespace: str(p.username), used: ['username'] }),
  'session.revoked': (p, n) => ({
    namespace: userName(n, p.userId),
    target: str(p.sessionId),
    used: ['sessionId'],
  }),
  'apikey.created': ofKeyOwner('name'),
  'apikey.revoked': ofKeyOwner('apiKeyId'),
  'org.created': ofOrg,
  'org.updated': ofOrg,
  'org.deleted': ofOrg,
  'org.member.added': ofOrgMember,
  'org.member.updated': ofOrgMember,
  'org.member.removed': ofOrgMember,
  'team.created': ofTeam,
  'team.updated': ofTeam,
  'team.deleted': ofTeam,
  'team.member.added': ofTeamMember,
  'team.member.removed': ofTeamMember,
  'repository.grants.changed': (p, n) => {
    const change = (p.change ?? {}) as Payload;
    return { target: change.kind === 'user' ? userName(n, change.userId) : null };
  },
  'manifest.pushed': (p) => ({ target: str(p.digest), used: ['digest'] }),
  'manifest.pulled': (p) => ({ target: str(p.reference), used: ['reference'] }),
};

/** Keys tried, in order, for the target of an event no extractor names one for. */
const TARGET_KEYS = ['tag', 'digest', 'username', 'name', 'team'];

/**
 * The namespace, repository and target of any event: the generic rules (a `repository` key gives
 * the repository and its namespace, a `namespace` key the namespace, the first of TARGET_KEYS the
 * target), overridden by the event's extractor where it has one.
 */
export function subjectOf(
  name: string,
  payload: Payload,
  names: AuditNames,
): Required<Omit<Subject, 'used'>> & { used: string[] } {
  const repository = str(payload.repository);
  const targetKey = TARGET_KEYS.find((k) => str(payload[k]) !== null);
  const generic = {
    namespace: repository ? namespaceOf(repository) : str(payload.namespace),
    repository,
    target: targetKey ? str(payload[targetKey]) : null,
    used: [
      ...(repository ? ['repository'] : str(payload.namespace) ? ['namespace'] : []),
      ...(targetKey ? [targetKey] : []),
    ],
  };
  const extractor = EXTRACTORS[name] as Extractor | undefined;
  if (!extractor) return generic;
  const own = extractor(payload, names);
  const target = own.target !== undefined ? own.target : generic.target;
  return {
    namespace: own.namespace !== undefined ? own.namespace : generic.namespace,
    repository: own.repository !== undefined ? own.repository : generic.repository,
    target,
    used: [
      ...(repository ? ['repository'] : []),
      ...(own.used ?? (own.target === undefined && targetKey ? [targetKey] : [])),
    ],
  };
}

/**
 * The user and organization ids an event's audit row needs names for: the row is mapped once
 * with no names while every id its extractor asks about is noted (well-formed ids only). Most
 * events ask for none (a user's own events carry the username), and their row is written without
 * a lookup.
 */
export function idsToName(e: RecordedEvent): { users: string[]; orgs: string[] } {
  const users = new AskedNames();
  const orgs = new AskedNames();
  auditRowOf(e, { users, orgs });
  return { users: [...users.asked].filter(isUuid), orgs: [...orgs.asked].filter(isUuid) };
}

/** Names that answer none, noting what was asked. */
class AskedNames extends Map<string, string> {
  readonly asked = new Set<string>();
  override get(id: string): string | undefined {
    this.asked.add(id);
    return undefined;
  }
}

/** The actor columns: kind, id, display name, credential, API key, address. */
export function actorColumns(
  a: Actor,
): Pick<
  AuditRow,
  'actorKind' | 'actorId' | 'actorName' | 'credential' | 'apiKeyId' | 'clientAddress'
> {
  const p = a.principal;
  const [actorId, actorName] =
    p.kind === 'user'
      ? [p.userId, p.username]
      : p.kind === 'robot'
        ? [p.robotId, `${p.namespace}+${p.name}`]
        : p.kind === 'system'
          ? [null, p.name]
          : [null, null];
  return {
    actorKind: p.kind,
    actorId: isUuid(actorId) ? actorId : null,
    actorName,
    credential: a.credential,
    apiKeyId: isUuid(a.apiKeyId) ? a.apiKeyId : null,
    clientAddress: a.address ?? null,
  };
}

/**
 * Payload keys never copied into an audit row's details: what an event carries for its
 * after-commit consumers only (the SHA-256 of the API keys a deleted user or robot took with it,
 * for cache invalidation).
 */
export const NOT_AUDITED: ReadonlySet<string> = new Set(['apiKeyHashes']);

/** The audit row of a recorded event: every event maps, whatever its name. */
export function auditRowOf(e: RecordedEvent, names: AuditNames): AuditRow {
  const payload = (e.payload ?? {}) as unknown as Payload;
  const subject = subjectOf(e.name, payload, names);
  const details: Payload = {};
  for (const [k, v] of Object.entries(payload))
    if (!subject.used.includes(k) && !NOT_AUDITED.has(k)) details[k] = v;
  return {
    eventId: e.id,
    action: e.name,
    ...actorColumns(e.actor),
    requestId: e.requestId,
    namespace: subject.namespace,
    repository: subject.repository,
    target: subject.target,
    details,
  };
}
