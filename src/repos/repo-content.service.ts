import { BadRequestException, Injectable, NotFoundException } from '@nestjs/common';
import type { Actor } from '../common/actor.js';
import { BlobsService } from '../registry/blobs.service.js';
import { looksLikeDigest } from '../registry/digest.js';
import { apiError } from '../common/api-error.js';
import { RegistryError } from '../registry/errors.js';
import { ImmutableTagError } from '../registry/tag-rules.js';
import { MEDIA_TYPES } from '../registry/manifest.js';
import { ManifestsService } from '../registry/manifests.service.js';
import { isValidTag } from '../registry/names.js';
import { IMAGE_CONFIG_TYPES, MAX_CONFIG_BYTES, platformsOf } from '../registry/platforms.js';
import { PullStatsService, type PullFigures } from '../registry/pull-stats.service.js';
import type {
  DescriptorViewDto,
  HistoryEntryDto,
  ImageConfigViewDto,
  ManifestViewDto,
} from './dto/manifest-view.dto.js';
import type { TagDto } from './dto/repos.dto.js';
import type { TagDetails } from '../registry/manifests.service.js';

const INDEX_TYPES: string[] = [MEDIA_TYPES.ociIndex, MEDIA_TYPES.dockerList];

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
/** Platforms of this many manifests are remembered per node (manifests never change). */
const PLATFORM_MEMORY = 10_000;
/** Manifests whose platforms are worked out at once when a repository is listed. */
const PLATFORM_CONCURRENCY = 8;

/** Reads what a repository holds through the Registry module's exported services. */
@Injectable()
export class RepoContentService {
  /** Platforms by repository id and manifest digest: immutable content, so never stale. */
  private readonly platformMemory = new Map<string, string[]>();

  constructor(
    private readonly manifests: ManifestsService,
    private readonly blobs: BlobsService,
    private readonly pulls: PullStatsService,
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
        const image = await this.configView(repositoryId, config.digest);
        if (image) view.image = image;
      }
    }
    return view;
  }

  /** What an image config says; undefined when it is missing, too big or not JSON. */
  private async configView(
    repositoryId: string,
    digest: string,
  ): Promise<ImageConfigViewDto | undefined> {
    const bytes = await this.smallBlob(repositoryId, digest);
    if (!bytes) return undefined;
    try {
      return imageConfigView(JSON.parse(bytes.toString('utf8')));
    } catch {
      return undefined;
    }
  }

  /**
   * Tags with digest, media type, stored size, platforms, push time and pull figures, in name
   * order, and the repository's own pull figures.
   */
  async tags(
    repositoryId: string,
  ): Promise<{ tags: TagDto[]; truncated: boolean; pulls: PullFigures }> {
    const { tags, more } = await this.manifests.listTagDetails(repositoryId, MAX_TAGS);
    const { tags: out, pulls } = await this.enrich(repositoryId, tags);
    return { tags: out, truncated: more, pulls };
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
    return { items: (await this.enrich(repositoryId, tags)).tags, total };
  }

  /** Adds platforms and pull figures to tag details. */
  private async enrich(
    repositoryId: string,
    tags: TagDetails[],
  ): Promise<{ tags: TagDto[]; pulls: PullFigures }> {
    const pulls = await this.pulls.figures(
      repositoryId,
      tags.map((t) => t.name),
    );
    const out: TagDto[] = tags.map((t) => ({
      ...t,
      platforms: [],
      ...(pulls.tags.get(t.name) ?? { pullCount: 0, lastPulledAt: null }),
    }));
    let next = 0;
    const work = async (): Promise<void> => {
      while (next < out.length) {
        const tag = out[next++];
        tag.platforms = await this.platforms(repositoryId, tag.digest);
      }
    };
    await Promise.all(Array.from({ length: PLATFORM_CONCURRENCY }, work));
    return { tags: out, pulls: pulls.repository };
  }

  /** The platforms of one manifest (none when it or its config cannot be read). */
  private async platforms(repositoryId: string, digest: string): Promise<string[]> {
    const key = `${repositoryId}@${digest}`;
    const known = this.platformMemory.get(key);
    if (known) return known;
    const found = await this.manifests.find(repositoryId, digest);
    if (!found) return [];
    // An unreadable config names no platform (the listing still answers).
    const platforms = await platformsOf(found.manifest.content, (d, size) =>
      this.smallBlob(repositoryId, d, size).catch(() => null),
    );
    if (this.platformMemory.size >= PLATFORM_MEMORY) this.platformMemory.clear();
    this.platformMemory.set(key, platforms);
    return platforms;
  }

  /**
   * A config blob linked into the repository, whole, when it holds at most MAX_CONFIG_BYTES (and
   * exactly `size` bytes when given); null otherwise. Storage errors are thrown.
   */
  private async smallBlob(
    repositoryId: string,
    digest: string,
    size?: number,
  ): Promise<Buffer | null> {
    const linked = await this.blobs.sizeInRepository(repositoryId, digest);
    if (linked === null || linked > MAX_CONFIG_BYTES) return null;
    if (size !== undefined && linked !== size) return null;
    const chunks: Buffer[] = [];
    let total = 0;
    for await (const chunk of await this.blobs.open(digest)) {
      total += (chunk as Buffer).length;
      if (total > MAX_CONFIG_BYTES) return null;
      chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks);
  }

  /**
   * Removes a tag as the registry's `DELETE /v2/<name>/manifests/<tag>` does (the manifest stays;
   * the cached tag is invalidated on every node). False when there is no such tag; 409
   * TAG_IMMUTABLE when an immutable pattern protects it.
   */
  async deleteTag(repo: { id: string; name: string }, tag: string, actor: Actor): Promise<boolean> {
    try {
      await this.manifests.delete(repo, tag, actor);
      return true;
    } catch (e) {
      if (e instanceof RegistryError && e.code === 'MANIFEST_UNKNOWN') return false;
      if (e instanceof ImmutableTagError) throw apiError(409, 'TAG_IMMUTABLE', e.message);
      throw e;
    }
  }
}
