import type { Actor } from '../common/actor.js';
import { Injectable } from '@nestjs/common';
import { BlobsService } from '../registry/blobs.service.js';
import { RegistryError } from '../registry/errors.js';
import { ManifestsService } from '../registry/manifests.service.js';
import { platformsOf } from '../registry/platforms.js';
import { PullStatsService, type PullFigures } from '../registry/pull-stats.service.js';
import type { TagDto } from './dto/repos.dto.js';

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
   * Tags with digest, media type, stored size, platforms, push time and pull figures, in name
   * order, and the repository's own pull figures.
   */
  async tags(
    repositoryId: string,
  ): Promise<{ tags: TagDto[]; truncated: boolean; pulls: PullFigures }> {
    const { tags, more } = await this.manifests.listTagDetails(repositoryId, MAX_TAGS);
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
    return { tags: out, truncated: more, pulls: pulls.repository };
  }

  /** The platforms of one manifest (none when it or its config cannot be read). */
  private async platforms(repositoryId: string, digest: string): Promise<string[]> {
    const key = `${repositoryId}@${digest}`;
    const known = this.platformMemory.get(key);
    if (known) return known;
    const found = await this.manifests.find(repositoryId, digest);
    if (!found) return [];
    const platforms = await platformsOf(found.manifest.content, (d, size) =>
      this.readConfig(repositoryId, d, size),
    );
    if (this.platformMemory.size >= PLATFORM_MEMORY) this.platformMemory.clear();
    this.platformMemory.set(key, platforms);
    return platforms;
  }

  /** A small config blob of the repository, whole; null when it is not there or unreadable. */
  private async readConfig(
    repositoryId: string,
    digest: string,
    size: number,
  ): Promise<Buffer | null> {
    try {
      if ((await this.blobs.sizeInRepository(repositoryId, digest)) !== size) return null;
      const chunks: Buffer[] = [];
      for await (const chunk of await this.blobs.open(digest)) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks);
    } catch {
      return null;
    }
  }

  /**
   * Removes a tag as the registry's `DELETE /v2/<name>/manifests/<tag>` does (the manifest stays;
   * the cached tag is invalidated on every node). False when there is no such tag.
   */
  async deleteTag(repo: { id: string; name: string }, tag: string, actor: Actor): Promise<boolean> {
    try {
      await this.manifests.delete(repo, tag, actor);
      return true;
    } catch (e) {
      if (e instanceof RegistryError && e.code === 'MANIFEST_UNKNOWN') return false;
      throw e;
    }
  }
}
