import { Injectable } from '@nestjs/common';
import type { Actor } from '../common/actor.js';
import type { UserSubject } from '../repos/permissions.js';
import type { RepositoryEntity } from '../repos/repository.entity.js';
import { ReposService } from '../repos/repos.service.js';
import { BlobsService } from './blobs.service.js';
import { type DigestAlgorithm, parseDigest } from './digest.js';
import { ManifestsService, type PutManifestResult } from './manifests.service.js';
import { type UploadBody, type UploadStatus, UploadsService } from './uploads.service.js';

export type UploadStart =
  | { kind: 'mounted'; repository: RepositoryEntity }
  | { kind: 'stored'; repository: RepositoryEntity; digest: string }
  | { kind: 'session'; repository: RepositoryEntity; upload: UploadStatus };

/** The subject of an actor, for the permission rules (null for anonymous callers). */
export function subjectOfActor(actor: Actor): UserSubject | null {
  const p = actor.principal;
  return p.kind === 'user'
    ? { kind: 'user', userId: p.userId, username: p.username, isAdmin: p.isAdmin }
    : null;
}

/**
 * The registry's pushes, as the controller hands them over: the repository is created by the
 * first push (ReposService.findOrCreate records `repository.created`), and the mount decision is
 * taken here, so that every write of a push comes from the services and their events.
 */
@Injectable()
export class PushService {
  constructor(
    private readonly repos: ReposService,
    private readonly blobs: BlobsService,
    private readonly uploads: UploadsService,
    private readonly manifests: ManifestsService,
  ) {}

  async putManifest(
    name: string,
    reference: string,
    body: Buffer,
    contentType: string | undefined,
    extraTags: string[],
    actor: Actor,
  ): Promise<PutManifestResult> {
    const repo = await this.repos.findOrCreate(name, actor);
    return this.manifests.put(repo, reference, body, contentType, extraTags, actor);
  }

  /**
   * `POST /v2/<name>/blobs/uploads/`: mounts the blob when `mount` names one the caller may use
   * (from `from` when the guard allowed it, else from any repository the caller can see), or
   * starts an upload session (the spec's fallback for a mount that cannot be done). With
   * `monolithic` (`?digest=` without `mount`) the body is the whole blob, stored at once.
   */
  async startUpload(
    name: string,
    opts: {
      mount?: string;
      from?: string;
      mountAllowed: boolean;
      algorithm: DigestAlgorithm;
      monolithic?: { digest: string; body: UploadBody; length?: number };
    },
    actor: Actor,
  ): Promise<UploadStart> {
    const repository = await this.repos.findOrCreate(name, actor);
    if (opts.mount !== undefined) {
      parseDigest(opts.mount);
      const mounted = await this.blobs.mountFor(
        repository,
        opts.mount,
        opts.from,
        opts.mountAllowed,
        subjectOfActor(actor),
        actor,
      );
      if (mounted) return { kind: 'mounted', repository };
    }
    const upload = await this.uploads.start(repository.id, opts.algorithm, actor);
    if (opts.monolithic && opts.mount === undefined) {
      const { digest } = await this.uploads.complete(
        repository,
        upload.id,
        opts.monolithic.digest,
        opts.monolithic.body,
        { length: opts.monolithic.length },
        actor,
      );
      return { kind: 'stored', repository, digest };
    }
    return { kind: 'session', repository, upload };
  }
}
