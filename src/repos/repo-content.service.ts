import { BadRequestException, Injectable, NotFoundException } from '@nestjs/common';
import { BlobsService } from '../registry/blobs.service.js';
import { looksLikeDigest } from '../registry/digest.js';
import { RegistryError } from '../registry/errors.js';
import { MEDIA_TYPES } from '../registry/manifest.js';
import { ManifestsService } from '../registry/manifests.service.js';
import { isValidTag } from '../registry/names.js';
import type {
  DescriptorViewDto,
  HistoryEntryDto,
  ImageConfigViewDto,
  ManifestViewDto,
} from './dto/manifest-view.dto.js';
import type { TagDto } from './dto/repos.dto.js';

/** Image configs larger than this are not read for the manifest view. */
const MAX_CONFIG_BYTES = 1024 * 1024;
const INDEX_TYPES: string[] = [MEDIA_TYPES.ociIndex, MEDIA_TYPES.dockerList];
const IMAGE_CONFIG_TYPES = [
  'application/vnd.oci.image.config.v1+json',
  'application/vnd.docker.container.image.v1+json',
];

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const strings = (v: unknown): string[] | undefined =>
  Array.isArray(v) && v.every((x) => typeof x === 'string') ? (v as string[]) : undefined;
const stringMap = (v: unknown): Record<string, string> | undefined =>
  isObject(v) && Object.values(v).every((x) => typeof x === 'string')
    ? (v as Record<string, string>)
    : undefined;

function descriptor(v: unknown): DescriptorViewDto | undefined {
  if (!isObject(v) || typeof v.digest !== 'string') return undefined;
  const p = isObject(v.platform) ? v.platform : undefined;
  return {
    digest: v.digest,
    mediaType: str(v.mediaType) ?? '',
    size: typeof v.size === 'number' ? v.size : 0,
    ...(p
      ? {
          platform: [str(p.os) ?? '?', str(p.architecture) ?? '?', str(p.variant)]
            .filter(Boolean)
            .join('/'),
        }
      : {}),
    ...(str(v.artifactType) ? { artifactType: str(v.artifactType) } : {}),
    ...(stringMap(v.annotations) ? { annotations: stringMap(v.annotations) } : {}),
  };
}

function descriptors(v: unknown): DescriptorViewDto[] {
  return Array.isArray(v) ? v.map(descriptor).filter((d) => d !== undefined) : [];
}

/** What an image config says, for people (unknown or malformed fields are left out). */
export function imageConfigView(config: unknown): ImageConfigViewDto {
  if (!isObject(config)) return {};
  const c = isObject(config.config) ? config.config : {};
  const history: HistoryEntryDto[] | undefined = Array.isArray(config.history)
    ? config.history.filter(isObject).map((h) => ({
        ...(str(h.created) ? { created: str(h.created) } : {}),
        ...(str(h.created_by) ? { createdBy: str(h.created_by) } : {}),
        ...(h.empty_layer === true ? { emptyLayer: true } : {}),
        ...(str(h.comment) ? { comment: str(h.comment) } : {}),
      }))
    : undefined;
  const view: ImageConfigViewDto = {
    os: str(config.os),
    architecture: str(config.architecture),
    variant: str(config.variant),
    created: str(config.created),
    entrypoint: strings(c.Entrypoint),
    cmd: strings(c.Cmd),
    env: strings(c.Env),
    workingDir: str(c.WorkingDir) || undefined,
    user: str(c.User) || undefined,
    labels: stringMap(c.Labels),
    history,
  };
  for (const k of Object.keys(view) as (keyof ImageConfigViewDto)[])
    if (view[k] === undefined) delete view[k];
  return view;
}

const MAX_TAGS = 1000;

/** Reads what a repository holds through the Registry module's exported services. */
@Injectable()
export class RepoContentService {
  constructor(
    private readonly manifests: ManifestsService,
    private readonly blobs: BlobsService,
  ) {}

  /**
   * A manifest by tag or digest, for people: an index's manifests with their platforms, an image's
   * layers and what its config says, and the referrers (signatures, SBOMs, attestations).
   */
  async manifestView(repositoryId: string, reference: string): Promise<ManifestViewDto> {
    if (!looksLikeDigest(reference) && !isValidTag(reference))
      throw new BadRequestException(`"${reference}" is neither a tag nor a digest`);
    let found;
    try {
      found = await this.manifests.find(repositoryId, reference);
    } catch (e) {
      if (e instanceof RegistryError) throw new BadRequestException(e.message);
      throw e;
    }
    if (!found) throw new NotFoundException(`no manifest "${reference}" in the repository`);
    const { manifest, digest } = found;
    let doc: Json = {};
    try {
      const parsed: unknown = JSON.parse(manifest.content.toString('utf8'));
      if (isObject(parsed)) doc = parsed;
    } catch {
      // Stored manifests were parsed when pushed; an unreadable one shows as an empty view.
    }
    const mediaType = manifest.mediaType;
    const kind = INDEX_TYPES.includes(mediaType) ? 'index' : 'image';
    const config = kind === 'image' ? descriptor(doc.config) : undefined;
    const referrersIndex: unknown = JSON.parse(
      (await this.manifests.referrers(repositoryId, digest)).toString('utf8'),
    );
    const view: ManifestViewDto = {
      digest,
      mediaType,
      kind,
      size: manifest.size,
      manifests: kind === 'index' ? descriptors(doc.manifests) : [],
      layers: kind === 'image' ? descriptors(doc.layers) : [],
      referrers: isObject(referrersIndex) ? descriptors(referrersIndex.manifests) : [],
    };
    const artifactType =
      str(doc.artifactType) ??
      (config && !IMAGE_CONFIG_TYPES.includes(config.mediaType) ? config.mediaType : undefined);
    if (artifactType) view.artifactType = artifactType;
    if (stringMap(doc.annotations)) view.annotations = stringMap(doc.annotations);
    const subject = descriptor(doc.subject);
    if (subject) view.subject = subject;
    if (config) {
      view.config = config;
      if (IMAGE_CONFIG_TYPES.includes(config.mediaType) && config.size <= MAX_CONFIG_BYTES) {
        const image = await this.readConfig(repositoryId, config.digest);
        if (image) view.image = image;
      }
    }
    return view;
  }

  private async readConfig(
    repositoryId: string,
    digest: string,
  ): Promise<ImageConfigViewDto | undefined> {
    const size = await this.blobs.sizeInRepository(repositoryId, digest);
    if (size === null || size > MAX_CONFIG_BYTES) return undefined;
    const chunks: Buffer[] = [];
    let total = 0;
    for await (const chunk of await this.blobs.open(digest)) {
      total += (chunk as Buffer).length;
      if (total > MAX_CONFIG_BYTES) return undefined;
      chunks.push(chunk as Buffer);
    }
    try {
      return imageConfigView(JSON.parse(Buffer.concat(chunks).toString('utf8')));
    } catch {
      return undefined;
    }
  }

  /** Tags with digest, media type, stored size and push time, in name order (one query). */
  async tags(repositoryId: string): Promise<{ tags: TagDto[]; truncated: boolean }> {
    const { tags, more } = await this.manifests.listTagDetails(repositoryId, MAX_TAGS);
    return { tags: await this.withPlatforms(repositoryId, tags), truncated: more };
  }

  /** One page of tags, filtered by name and sorted (for repositories with very many tags). */
  async tagPage(
    repositoryId: string,
    q: { q?: string; sort?: 'name' | 'size' | 'pushedAt'; order?: 'asc' | 'desc' },
    page: number,
    perPage: number,
  ): Promise<{ items: TagDto[]; total: number }> {
    const { tags, total } = await this.manifests.tagPage(repositoryId, {
      q: q.q?.trim() || undefined,
      sort: q.sort ?? 'name',
      descending: q.order === 'desc',
      offset: (page - 1) * perPage,
      limit: perPage,
    });
    return { items: await this.withPlatforms(repositoryId, tags), total };
  }

  /** Adds the platforms of the indexes among `tags`. */
  private async withPlatforms(repositoryId: string, tags: TagDto[]): Promise<TagDto[]> {
    const indexes = [
      ...new Set(tags.filter((t) => INDEX_TYPES.includes(t.mediaType)).map((t) => t.digest)),
    ];
    const platforms = await this.manifests.indexPlatforms(repositoryId, indexes);
    return tags.map((t) => {
      const p = platforms.get(t.digest);
      return p ? { ...t, platforms: p } : t;
    });
  }

  /**
   * Removes a tag as the registry's `DELETE /v2/<name>/manifests/<tag>` does (the manifest stays;
   * the cached tag is invalidated on every node). False when there is no such tag.
   */
  async deleteTag(repositoryId: string, tag: string): Promise<boolean> {
    try {
      await this.manifests.delete(repositoryId, tag);
      return true;
    } catch (e) {
      if (e instanceof RegistryError && e.code === 'MANIFEST_UNKNOWN') return false;
      throw e;
    }
  }
}
