import { immutableRuleFor, tagMatches } from '../registry/tag-rules.js';

/**
 * Retention (pure rules; applied by each garbage collection run, see retention.service.ts).
 *
 * A policy's fields (each null = not set):
 * - `keepLatest` N: the N most recently pushed tags are kept; the others may go;
 * - `keepPattern`: tags matching one of these patterns (tag-rules.ts syntax) are always kept;
 * - `deleteNotPulledForDays` D: tags not pulled for D days may go (a tag never pulled counts
 *   from its push time);
 * - `deleteUntaggedAfterDays` D: untagged manifests created more than D days ago go.
 *
 * A tag goes when at least one of `keepLatest` / `deleteNotPulledForDays` is set, EVERY one that
 * is set lets it go (beyond the newest N, and not pulled for D days), and no keep rule protects
 * it (immutable tag patterns, `keepPattern`). A repository's policy overrides its namespace's
 * default field by field (`effectivePolicy`).
 *
 * A manifest goes only when `deleteUntaggedAfterDays` is set, no tag (left) points at it, and none
 * of these keeps it: created within D days; a tag history entry within D days names it (so that
 * restore still works; the tags retention deletes now count as such entries); an index that stays
 * references it; it is a referrer (`subject`) of a manifest that stays. A referrer follows its
 * subject: it goes with it, and one whose subject is absent goes when older than D days.
 */

export interface RetentionPolicy {
  keepLatest: number | null;
  keepPattern: string[] | null;
  deleteNotPulledForDays: number | null;
  deleteUntaggedAfterDays: number | null;
}

export const EMPTY_POLICY: RetentionPolicy = {
  keepLatest: null,
  keepPattern: null,
  deleteNotPulledForDays: null,
  deleteUntaggedAfterDays: null,
};

/** The repository's policy over its namespace's default, field by field (null = inherit). */
export function effectivePolicy(
  namespaceDefault: RetentionPolicy | null,
  repository: RetentionPolicy | null,
): RetentionPolicy {
  const ns = namespaceDefault ?? EMPTY_POLICY;
  const repo = repository ?? EMPTY_POLICY;
  return {
    keepLatest: repo.keepLatest ?? ns.keepLatest,
    keepPattern: repo.keepPattern ?? ns.keepPattern,
    deleteNotPulledForDays: repo.deleteNotPulledForDays ?? ns.deleteNotPulledForDays,
    deleteUntaggedAfterDays: repo.deleteUntaggedAfterDays ?? ns.deleteUntaggedAfterDays,
  };
}

/** Whether a policy can delete anything at all. */
export function policyActs(p: RetentionPolicy): boolean {
  return (
    p.keepLatest !== null || p.deleteNotPulledForDays !== null || p.deleteUntaggedAfterDays !== null
  );
}

export interface RetentionTag {
  name: string;
  digest: string;
  pushedAt: Date;
  lastPulledAt: Date | null;
}

export interface RetentionManifest {
  digest: string;
  createdAt: Date;
  /** The manifest it is a referrer of, or null. */
  subjectDigest: string | null;
  /** Manifests it references (an index's children). */
  children: string[];
}

export interface RetentionInput {
  tags: RetentionTag[];
  manifests: RetentionManifest[];
  policy: RetentionPolicy;
  immutablePatterns: string[];
  /** Tag history entries: a digest they name (old or new) and when. */
  history: { digest: string; at: Date }[];
  now: Date;
}

export interface RetentionDecision {
  /** Tags to delete (with the digest they point at now). */
  tags: { name: string; digest: string }[];
  /** Manifest digests to delete. */
  manifests: string[];
}

const DAY_MS = 86_400_000;

export function decideRetention(input: RetentionInput): RetentionDecision {
  const { policy, now } = input;
  const doomedTags = decideTags(input);
  const gone = new Set(doomedTags.map((t) => t.name));
  if (policy.deleteUntaggedAfterDays === null) return { tags: doomedTags, manifests: [] };

  const cutoff = now.getTime() - policy.deleteUntaggedAfterDays * DAY_MS;
  const tagged = new Set(input.tags.filter((t) => !gone.has(t.name)).map((t) => t.digest));
  const recent = new Set(
    input.history.filter((h) => h.at.getTime() >= cutoff).map((h) => h.digest),
  );
  // The tags deleted now write history entries naming their digests.
  for (const t of doomedTags) recent.add(t.digest);
  const present = new Set(input.manifests.map((m) => m.digest));

  const eligible = (m: RetentionManifest): boolean => {
    if (tagged.has(m.digest) || recent.has(m.digest)) return false;
    // A referrer of a present subject follows it (decided below); others by age.
    if (m.subjectDigest !== null && present.has(m.subjectDigest)) return true;
    return m.createdAt.getTime() <= cutoff;
  };
  const kept = new Set(input.manifests.filter((m) => !eligible(m)).map((m) => m.digest));
  // What stays keeps its children and its referrers, until nothing changes.
  for (let changed = true; changed;) {
    changed = false;
    for (const m of input.manifests) {
      if (kept.has(m.digest)) {
        for (const c of m.children)
          if (present.has(c) && !kept.has(c)) {
            kept.add(c);
            changed = true;
          }
      } else if (m.subjectDigest !== null && kept.has(m.subjectDigest)) {
        kept.add(m.digest);
        changed = true;
      }
    }
  }
  return {
    tags: doomedTags,
    manifests: input.manifests
      .filter((m) => !kept.has(m.digest))
      .map((m) => m.digest)
      .sort(),
  };
}

function decideTags(input: RetentionInput): { name: string; digest: string }[] {
  const { policy, now } = input;
  if (policy.keepLatest === null && policy.deleteNotPulledForDays === null) return [];
  const newest = [...input.tags].sort(
    (a, b) => b.pushedAt.getTime() - a.pushedAt.getTime() || (a.name < b.name ? -1 : 1),
  );
  const latest = new Set(
    policy.keepLatest === null ? [] : newest.slice(0, policy.keepLatest).map((t) => t.name),
  );
  const staleBefore =
    policy.deleteNotPulledForDays === null
      ? null
      : now.getTime() - policy.deleteNotPulledForDays * DAY_MS;
  return newest
    .filter((t) => {
      if (immutableRuleFor(input.immutablePatterns, t.name) !== null) return false;
      if ((policy.keepPattern ?? []).some((p) => tagMatches(p, t.name))) return false;
      if (policy.keepLatest !== null && latest.has(t.name)) return false;
      if (staleBefore !== null && (t.lastPulledAt ?? t.pushedAt).getTime() > staleBefore)
        return false;
      return true;
    })
    .map((t) => ({ name: t.name, digest: t.digest }))
    .sort((a, b) => (a.name < b.name ? -1 : 1));
}
