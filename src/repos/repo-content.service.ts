import type { Actor } from '../common/actor.js';
import { Injectable } from '@nestjs/common';
import { RegistryError } from '../registry/errors.js';
import { ManifestsService } from '../registry/manifests.service.js';
import type { TagDto } from './dto/repos.dto.js';

const MAX_TAGS = 1000;

/** Reads what a repository holds through the Registry module's exported services. */
@Injectable()
export class RepoContentService {
  constructor(private readonly manifests: ManifestsService) {}

  /** Tags with digest, media type, stored size and push time, in name order (one query). */
  async tags(repositoryId: string): Promise<{ tags: TagDto[]; truncated: boolean }> {
    const { tags, more } = await this.manifests.listTagDetails(repositoryId, MAX_TAGS);
    return { tags, truncated: more };
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
