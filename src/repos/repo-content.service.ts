import { Injectable } from '@nestjs/common';
import { ManifestsService, type StoredManifest } from '../registry/manifests.service.js';
import type { TagDto } from './dto/repos.dto.js';

const MAX_TAGS = 1000;

interface ManifestDoc {
  config?: { size?: unknown };
  layers?: { size?: unknown }[];
  manifests?: { digest?: unknown }[];
}

function parse(m: StoredManifest): ManifestDoc {
  try {
    const doc: unknown = JSON.parse(m.content.toString('utf8'));
    return typeof doc === 'object' && doc !== null ? (doc as ManifestDoc) : {};
  } catch {
    return {};
  }
}

function num(v: unknown): number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : 0;
}

/** Reads what a repository holds through the Registry module's exported services. */
@Injectable()
export class RepoContentService {
  constructor(private readonly manifests: ManifestsService) {}

  /** Manifest bytes plus the bytes of the config and layers it references. */
  private imageSize(m: StoredManifest, doc: ManifestDoc): number {
    return (
      m.size + num(doc.config?.size) + (doc.layers ?? []).reduce((sum, l) => sum + num(l?.size), 0)
    );
  }

  private async size(repositoryId: string, m: StoredManifest): Promise<number> {
    const doc = parse(m);
    if (!Array.isArray(doc.manifests)) return this.imageSize(m, doc);
    let total = m.size;
    for (const child of doc.manifests) {
      if (typeof child?.digest !== 'string') continue;
      const c = await this.manifests.find(repositoryId, child.digest);
      if (c) total += this.imageSize(c, parse(c));
    }
    return total;
  }

  async tags(repositoryId: string): Promise<{ tags: TagDto[]; truncated: boolean }> {
    const { tags, more } = await this.manifests.listTags(repositoryId, MAX_TAGS, undefined);
    const out: TagDto[] = [];
    for (const name of tags) {
      const m = await this.manifests.find(repositoryId, name);
      if (!m) continue; // deleted meanwhile
      out.push({
        name,
        digest: m.digest,
        mediaType: m.mediaType,
        size: await this.size(repositoryId, m),
      });
    }
    return { tags: out, truncated: more };
  }
}
