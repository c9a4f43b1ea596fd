/**
 * Manifest content negotiation for `GET`/`HEAD /v2/<name>/manifests/<reference>`.
 *
 * Manifests are kept as the exact bytes pushed and never converted, so the only choices are: the
 * stored manifest, the linux/amd64 entry of a stored index, or nothing. Distribution
 * (registry/handlers/manifests.go) is the reference; the clients that matter — docker, containerd,
 * podman, skopeo, buildah, crane, oras — always list every type they can read (containerd also
 * sends the any-type wildcard), so they always get the stored manifest. The rules, in order:
 *
 * 1. No `Accept` header, or one that admits the stored type (exactly, as `application/*` or as
 *    the any-type wildcard, with a q-value above 0) → the stored manifest. Distribution ignores wildcards and answers
 *    404 to an OCI manifest or index requested without `Accept`; we follow HTTP instead, so
 *    `curl` and scripts that send no `Accept` get what was pushed.
 * 2. A Docker schema 2 image manifest → served whatever `Accept` says, as Distribution does: it
 *    has nothing else to offer (a client that only reads schema 1 fails either way).
 * 3. An index (OCI image index or Docker manifest list) requested by tag whose `Accept` excludes
 *    it but admits the type of its linux/amd64 entry → that entry, with its own digest.
 *    Distribution does this for Docker manifest lists, for clients that predate them (and it is
 *    what scripts sending only `Accept: application/vnd.docker.distribution.manifest.v2+json`
 *    rely on); we do the same for OCI indexes. Requested by digest, an index is those bytes or
 *    nothing (rule 4).
 * 4. Otherwise → `404 MANIFEST_UNKNOWN` saying which type is stored and that `Accept` excludes it
 *    (Distribution: "OCI manifest found, but accept header does not support OCI manifests").
 *    That is what a client too old for OCI types (e.g. docker before 18.06) must see: "not found"
 *    rather than a document it cannot parse.
 */
import { MEDIA_TYPES } from './manifest.js';

export type ManifestChoice =
  | { serve: 'stored' }
  | { serve: 'entry'; digest: string; mediaType: string }
  | { serve: 'none'; message: string };

interface AcceptRange {
  type: string;
  q: number;
}

/** The media ranges of one or several `Accept` headers (lower-cased, parameters dropped). */
export function parseAccept(header: string | string[] | undefined): AcceptRange[] | undefined {
  if (header === undefined) return undefined;
  const values = Array.isArray(header) ? header : [header];
  const ranges: AcceptRange[] = [];
  for (const part of values.flatMap((v) => v.split(','))) {
    const [type, ...params] = part.split(';').map((s) => s.trim());
    if (!type) continue;
    let q = 1;
    for (const p of params) {
      const m = /^q\s*=\s*([0-9.]+)$/i.exec(p);
      if (m) q = Number(m[1]);
    }
    ranges.push({ type: type.toLowerCase(), q: Number.isFinite(q) ? q : 0 });
  }
  return ranges.length ? ranges : undefined;
}

/** Whether the ranges admit `mediaType` (the most specific matching range decides). */
export function accepts(ranges: AcceptRange[], mediaType: string): boolean {
  const type = mediaType.toLowerCase();
  const major = type.split('/')[0];
  const match =
    ranges.find((r) => r.type === type) ??
    ranges.find((r) => r.type === `${major}/*`) ??
    ranges.find((r) => r.type === '*/*');
  return match !== undefined && match.q > 0;
}

const INDEX_TYPES: string[] = [MEDIA_TYPES.ociIndex, MEDIA_TYPES.dockerList];

/** The linux/amd64 entry of an index, the platform Distribution serves to index-less clients. */
function defaultPlatformEntry(content: Buffer): { digest: string; mediaType: string } | undefined {
  let index: { manifests?: unknown };
  try {
    index = JSON.parse(content.toString('utf8')) as { manifests?: unknown };
  } catch {
    return undefined;
  }
  if (!Array.isArray(index.manifests)) return undefined;
  for (const m of index.manifests as Record<string, unknown>[]) {
    const p = m?.platform as Record<string, unknown> | undefined;
    if (
      p?.os === 'linux' &&
      p.architecture === 'amd64' &&
      typeof m.digest === 'string' &&
      typeof m.mediaType === 'string'
    )
      return { digest: m.digest, mediaType: m.mediaType };
  }
  return undefined;
}

/**
 * What to answer a manifest request with `Accept` header(s) `accept` for a stored manifest of
 * `mediaType` and bytes `content`; `byTag` when the reference is a tag.
 */
export function chooseManifest(
  accept: string | string[] | undefined,
  stored: { mediaType: string; content: Buffer },
  byTag: boolean,
): ManifestChoice {
  const ranges = parseAccept(accept);
  if (!ranges || accepts(ranges, stored.mediaType)) return { serve: 'stored' };
  if (stored.mediaType === MEDIA_TYPES.dockerManifest) return { serve: 'stored' };
  if (byTag && INDEX_TYPES.includes(stored.mediaType)) {
    const entry = defaultPlatformEntry(stored.content);
    if (entry && accepts(ranges, entry.mediaType)) return { serve: 'entry', ...entry };
  }
  return {
    serve: 'none',
    message: `the manifest is stored as ${stored.mediaType}, which the Accept header does not include`,
  };
}
