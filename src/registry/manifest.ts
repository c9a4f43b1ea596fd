import { isBadText } from '../common/text-input.js';
import { parseDigest } from './digest.js';
import { RegistryError } from './errors.js';

export const MEDIA_TYPES = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  ociEmpty: 'application/vnd.oci.empty.v1+json',
} as const;

const IMAGE_TYPES: string[] = [MEDIA_TYPES.ociManifest, MEDIA_TYPES.dockerManifest];
const INDEX_TYPES: string[] = [MEDIA_TYPES.ociIndex, MEDIA_TYPES.dockerList];
export const SUPPORTED_MANIFEST_TYPES: string[] = [...IMAGE_TYPES, ...INDEX_TYPES];

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
  urls?: string[];
  platform?: Record<string, unknown>;
}

export interface ParsedManifest {
  mediaType: string;
  kind: 'image' | 'index';
  /** Blobs that must exist in the repository (config and layers, foreign layers excluded). */
  blobs: string[];
  /** Child manifests that must exist in the repository (index entries). */
  manifests: string[];
  /** The sizes the manifest declares for its blobs and child manifests, by digest. */
  sizes: Map<string, number>;
  subject?: Descriptor;
  /** artifactType, else the config media type for image manifests (as the referrers API reports). */
  artifactType?: string;
  annotations?: Record<string, string>;
}

const MEDIA_TYPE_GRAMMAR =
  /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$/;

function invalid(message: string, detail?: unknown): RegistryError {
  return new RegistryError('MANIFEST_INVALID', message, detail);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function stringMap(v: unknown, where: string): Record<string, string> | undefined {
  if (v === undefined) return undefined;
  if (!isObject(v) || Object.values(v).some((x) => typeof x !== 'string')) {
    throw invalid(`${where} must be a map of strings`);
  }
  // Annotations are also stored as jsonb, which refuses NUL characters and unpaired surrogates.
  if (Object.entries(v).some(([k, x]) => isBadText(k) || isBadText(x as string))) {
    throw invalid(`${where} must be valid Unicode text without NUL characters`);
  }
  return v as Record<string, string>;
}

export function parseDescriptor(v: unknown, where: string): Descriptor {
  if (!isObject(v)) throw invalid(`${where} must be a descriptor object`);
  const { mediaType, digest, size, urls } = v;
  if (typeof mediaType !== 'string' || !MEDIA_TYPE_GRAMMAR.test(mediaType)) {
    throw invalid(`${where}.mediaType is missing or invalid`);
  }
  if (typeof digest !== 'string') throw invalid(`${where}.digest is missing`);
  try {
    parseDigest(digest);
  } catch {
    throw invalid(`${where}.digest is invalid`, { digest });
  }
  // Number.isSafeInteger is false for anything but a number.
  if (!Number.isSafeInteger(size) || (size as number) < 0) {
    throw invalid(`${where}.size must be a non-negative integer`);
  }
  if (urls !== undefined && (!Array.isArray(urls) || urls.some((u) => typeof u !== 'string'))) {
    throw invalid(`${where}.urls must be a list of strings`);
  }
  if (v.artifactType !== undefined && typeof v.artifactType !== 'string') {
    throw invalid(`${where}.artifactType must be a string`);
  }
  return {
    mediaType,
    digest,
    size: size as number,
    artifactType: v.artifactType as string | undefined,
    annotations: stringMap(v.annotations, `${where}.annotations`),
    urls: urls as string[] | undefined,
    platform: isObject(v.platform) ? v.platform : undefined,
  };
}

/** Foreign (non-distributable) layers live elsewhere and are not required in the repository. */
function isForeignLayer(d: Descriptor): boolean {
  return (
    d.mediaType.includes('.foreign.') ||
    d.mediaType.includes('nondistributable') ||
    (d.urls !== undefined && d.urls.length > 0)
  );
}

/**
 * Chooses the manifest media type from the request's Content-Type and the document itself. A
 * Content-Type that is not a manifest media type (`text/plain`, `application/json`) is refused
 * with MANIFEST_INVALID, as Distribution does ("unsupported manifest media type"); without a
 * Content-Type the document's `mediaType` (or its shape) decides.
 */
export function resolveMediaType(
  contentType: string | undefined,
  doc: Record<string, unknown>,
): string {
  const header = contentType?.split(';')[0].trim().toLowerCase() || undefined;
  if (header !== undefined && !SUPPORTED_MANIFEST_TYPES.includes(header)) {
    throw invalid('unsupported manifest media type in Content-Type', {
      contentType: header,
      supported: SUPPORTED_MANIFEST_TYPES,
    });
  }
  if (doc.mediaType !== undefined && typeof doc.mediaType !== 'string') {
    throw invalid('mediaType must be a string');
  }
  const field = doc.mediaType as string | undefined;
  // From here on a Content-Type, when there is one, is a manifest media type.
  if (field !== undefined && header !== undefined && field !== header) {
    throw invalid('mediaType in the manifest does not match the Content-Type header', {
      mediaType: field,
      contentType: header,
    });
  }
  const candidate =
    header ??
    field ??
    (Array.isArray(doc.manifests)
      ? MEDIA_TYPES.ociIndex
      : doc.config
        ? MEDIA_TYPES.ociManifest
        : undefined);
  // Neither undefined nor an unknown mediaType is in the list.
  if (!SUPPORTED_MANIFEST_TYPES.includes(candidate as string)) {
    throw invalid('unsupported manifest media type', { mediaType: candidate ?? null });
  }
  return candidate as string;
}

/** Validates a manifest body against the schemas of the OCI image spec and Docker schema 2. */
export function parseManifest(bytes: Buffer, contentType: string | undefined): ParsedManifest {
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw invalid('manifest is not valid JSON');
  }
  if (!isObject(doc)) throw invalid('manifest must be a JSON object');
  if (doc.schemaVersion !== 2) {
    throw invalid('only schemaVersion 2 manifests are supported', {
      schemaVersion: doc.schemaVersion ?? null,
    });
  }
  const mediaType = resolveMediaType(contentType, doc);
  if (
    doc.artifactType !== undefined &&
    (typeof doc.artifactType !== 'string' || !MEDIA_TYPE_GRAMMAR.test(doc.artifactType))
  ) {
    throw invalid('artifactType must be a media type');
  }
  const artifactType = doc.artifactType as string | undefined;
  const subject = doc.subject === undefined ? undefined : parseDescriptor(doc.subject, 'subject');
  const annotations = stringMap(doc.annotations, 'annotations');

  if (IMAGE_TYPES.includes(mediaType)) {
    const config = parseDescriptor(doc.config, 'config');
    if (!Array.isArray(doc.layers)) throw invalid('layers must be a list');
    const layers = doc.layers.map((l, i) => parseDescriptor(l, `layers[${i}]`));
    if (mediaType === MEDIA_TYPES.dockerManifest && (artifactType || subject)) {
      throw invalid('Docker schema 2 manifests cannot carry artifactType or subject');
    }
    const required = [config, ...layers.filter((l) => !isForeignLayer(l))];
    return {
      mediaType,
      kind: 'image',
      blobs: required.map((d) => d.digest),
      manifests: [],
      sizes: declaredSizes(required),
      subject,
      artifactType: artifactType ?? config.mediaType,
      annotations,
    };
  }
  if (!Array.isArray(doc.manifests)) throw invalid('manifests must be a list');
  const children = doc.manifests.map((m, i) => parseDescriptor(m, `manifests[${i}]`));
  return {
    mediaType,
    kind: 'index',
    blobs: [],
    manifests: children.map((c) => c.digest),
    sizes: declaredSizes(children),
    subject,
    artifactType,
    annotations,
  };
}

/** Digest → declared size; one digest declared with two sizes is itself invalid. */
function declaredSizes(descriptors: Descriptor[]): Map<string, number> {
  const sizes = new Map<string, number>();
  for (const d of descriptors) {
    const seen = sizes.get(d.digest);
    if (seen !== undefined && seen !== d.size)
      throw invalid('one digest is declared with two different sizes', { digest: d.digest });
    sizes.set(d.digest, d.size);
  }
  return sizes;
}
