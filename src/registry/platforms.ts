/**
 * The platforms an image is for, as `os/architecture[/variant]` (what `docker pull --platform`
 * takes). An index lists them in its entries' `platform` fields; a single image states them in its
 * config blob (`os`, `architecture`, `variant`), which is read only for the two image config media
 * types. Attestation entries (`unknown/unknown`, as buildx writes them) and artifacts (any other
 * config type) name no platform. Manifests are immutable, so callers may cache the answer by digest.
 */
import { MEDIA_TYPES } from './manifest.js';

export const IMAGE_CONFIG_TYPES: readonly string[] = [
  'application/vnd.oci.image.config.v1+json',
  'application/vnd.docker.container.image.v1+json',
];

/** The largest image config read to find its platform; a bigger one names no platform. */
export const MAX_CONFIG_BYTES = 1024 * 1024;

/** `os/architecture[/variant]`, or null when either of the first two is missing or unknown. */
export function platformName(p: unknown): string | null {
  if (p === null || typeof p !== 'object') return null;
  const { os, architecture, variant } = p as Record<string, unknown>;
  if (typeof os !== 'string' || typeof architecture !== 'string') return null;
  if (!os || !architecture || os === 'unknown' || architecture === 'unknown') return null;
  return typeof variant === 'string' && variant
    ? `${os}/${architecture}/${variant}`
    : `${os}/${architecture}`;
}

/**
 * Platforms of a stored manifest. `readConfig(digest)` returns a config blob's bytes (or null when
 * it cannot be read); it is called at most once, for an image manifest with an image config.
 */
export async function platformsOf(
  content: Buffer,
  readConfig: (digest: string, size: number) => Promise<Buffer | null>,
): Promise<string[]> {
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(content.toString('utf8')) as Record<string, unknown>;
  } catch {
    return [];
  }
  if (Array.isArray(doc.manifests)) {
    const names = doc.manifests.map((m) => platformName((m as { platform?: unknown })?.platform));
    return [...new Set(names.filter((n): n is string => n !== null))];
  }
  const config = doc.config as
    { mediaType?: unknown; digest?: unknown; size?: unknown } | undefined;
  if (
    !config ||
    typeof config.digest !== 'string' ||
    typeof config.size !== 'number' ||
    config.size > MAX_CONFIG_BYTES ||
    !IMAGE_CONFIG_TYPES.includes(String(config.mediaType)) ||
    (doc.mediaType !== undefined &&
      doc.mediaType !== MEDIA_TYPES.ociManifest &&
      doc.mediaType !== MEDIA_TYPES.dockerManifest)
  ) {
    return [];
  }
  const bytes = await readConfig(config.digest, config.size);
  if (!bytes) return [];
  try {
    const name = platformName(JSON.parse(bytes.toString('utf8')));
    return name ? [name] : [];
  } catch {
    return [];
  }
}
