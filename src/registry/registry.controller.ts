import { All, Controller, Inject, Logger, Req, Res, UseFilters, UseGuards } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import { pipeline } from 'node:stream/promises';
import type { AppConfig } from '../config/config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { AccessFactsService } from '../repos/access-facts.service.js';
import { event } from '../events/events.js';
import { EventsService } from '../events/events.service.js';
import { RepoAccessService } from '../repos/repo-access.service.js';
import { ReposService } from '../repos/repos.service.js';
import { suspendIdleTimeout } from '../http-limits.js';
import { manifestsPulled, manifestsPushed } from '../observability/metrics.js';
import { chooseManifest } from './accept.js';
import { BlobsService } from './blobs.service.js';
import { type DigestAlgorithm, isDigestAlgorithm, looksLikeDigest, parseDigest } from './digest.js';
import { uploadBody } from './request-body.js';
import { RegistryError } from './errors.js';
import {
  contentLength,
  hasBody,
  parseContentRange,
  parsePageSize,
  parseRangeHeader,
  queryList,
  queryString,
  readSmallBody,
} from './http-util.js';
import { ManifestsService, type RepoRef } from './manifests.service.js';
import { PushService, subjectOfActor } from './push.service.js';
import { canSend } from '../storage/blob-file-stream.js';
import { PullStatsService } from './pull-stats.service.js';
import { RegistryAccessGuard, type RegistryRequest } from './registry-access.guard.js';
import { RegistryErrorFilter } from './registry-error.filter.js';
import type { RegistryRoute } from './routes.js';
import { UploadsService } from './uploads.service.js';

type Route<K extends RegistryRoute['kind']> = Extract<RegistryRoute, { kind: K }>;

const CATALOG_DEFAULT_PAGE = 100;
const CATALOG_MAX_PAGE = 1000;
const TAGS_MAX_PAGE = 10000;

function uploadLocation(name: string, id: string): string {
  return `/v2/${name}/blobs/uploads/${id}`;
}

function nextLink(path: string, n: number, last: string): string {
  return `<${path}?n=${n}&last=${encodeURIComponent(last)}>; rel="next"`;
}

/** The OCI Distribution API. Parsing and access checks happen in the guard; rules in the services. */
@ApiExcludeController()
@Controller('v2')
@UseGuards(RegistryAccessGuard)
@UseFilters(RegistryErrorFilter)
export class RegistryController {
  constructor(
    private readonly repos: ReposService,
    private readonly blobs: BlobsService,
    private readonly uploads: UploadsService,
    private readonly manifests: ManifestsService,
    private readonly access: RepoAccessService,
    private readonly facts: AccessFactsService,
    private readonly push: PushService,
    private readonly pulls: PullStatsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly events: EventsService,
  ) {}

  @All(['', '*path'])
  async handle(@Req() req: RegistryRequest, @Res() res: Response): Promise<void> {
    const route = req.registryRoute!;
    const method = req.method.toUpperCase();
    res.setHeader('Docker-Distribution-API-Version', 'registry/2.0');
    const key = `${route.kind} ${method === 'HEAD' && route.kind !== 'upload' ? 'GET' : method}`;
    switch (key) {
      case 'base GET':
        return void res.status(200).json({});
      case 'catalog GET':
        return this.catalog(req, res);
      case 'tags GET':
        return this.listTags(route as Route<'tags'>, req, res);
      case 'manifest GET':
        return this.getManifest(route as Route<'manifest'>, req, res);
      case 'manifest PUT':
        return this.putManifest(route as Route<'manifest'>, req, res);
      case 'manifest DELETE':
        return this.deleteManifest(route as Route<'manifest'>, req, res);
      case 'blob GET':
        return this.getBlob(route as Route<'blob'>, req, res);
      case 'blob DELETE':
        return this.deleteBlob(route as Route<'blob'>, req, res);
      case 'uploadStart POST':
        return this.startUpload(route as Route<'uploadStart'>, req, res);
      case 'upload GET':
      case 'upload HEAD':
        return this.uploadStatus(route as Route<'upload'>, res);
      case 'upload PATCH':
        return this.patchUpload(route as Route<'upload'>, req, res);
      case 'upload PUT':
        return this.completeUpload(route as Route<'upload'>, req, res);
      case 'upload DELETE':
        return this.cancelUpload(route as Route<'upload'>, res);
      case 'referrers GET':
        return this.referrers(route as Route<'referrers'>, req, res);
      default:
        throw new RegistryError('UNSUPPORTED', `${method} is not supported here`, undefined, 405);
    }
  }

  private async repository(name: string): Promise<RepoRef> {
    const repo = await this.repos.findByName(name);
    if (!repo)
      throw new RegistryError('NAME_UNKNOWN', 'repository name not known to registry', { name });
    return { id: repo.id, name: repo.name };
  }

  /**
   * The repository's id for a read or for a request on an upload session, from the cached access
   * facts the guard has just loaded to authorize the request (invalidated on every node when the
   * repository is created or deleted, see CacheKeys.repoFacts): a pull, and each request of an
   * upload after its POST, costs no database round trip for it. An upload needs no fresher id:
   * every statement on its row names the repository id too, and a deleted repository's sessions
   * lose it (`uploads.repository_id` is set to null), so a stale id finds no session (404
   * BLOB_UPLOAD_UNKNOWN, as for any session of a deleted repository). Deletes look the repository
   * up in the database (`repository`).
   */
  private async cachedRepository(name: string): Promise<RepoRef> {
    const facts = await this.facts.repository(name);
    if (!facts)
      throw new RegistryError('NAME_UNKNOWN', 'repository name not known to registry', { name });
    return { id: facts.id, name: facts.name };
  }

  private async cachedRepositoryId(name: string): Promise<string> {
    return (await this.cachedRepository(name)).id;
  }

  private async catalog(req: RegistryRequest, res: Response): Promise<void> {
    const n = parsePageSize(req.query.n, CATALOG_MAX_PAGE) ?? CATALOG_DEFAULT_PAGE;
    const last = queryString(req.query.last);
    let repositories: string[] = [];
    if (n > 0) {
      const names = req.registryCatalog
        ? await req.registryCatalog(n + 1, last)
        : await this.access.catalog(subjectOfActor(req.registryActor!), n + 1, last);
      repositories = names.slice(0, n);
      if (names.length > n) res.setHeader('Link', nextLink('/v2/_catalog', n, repositories[n - 1]));
    }
    res.status(200).json({ repositories });
  }

  private async listTags(route: Route<'tags'>, req: RegistryRequest, res: Response): Promise<void> {
    const repositoryId = await this.cachedRepositoryId(route.name);
    const n = parsePageSize(req.query.n, TAGS_MAX_PAGE);
    const last = queryString(req.query.last);
    const { tags, more } = await this.manifests.listTags(repositoryId, n, last);
    if (more && n !== undefined && tags.length)
      res.setHeader('Link', nextLink(`/v2/${route.name}/tags/list`, n, tags[tags.length - 1]));
    res.status(200).json({ name: route.name, tags });
  }

  private async getManifest(
    route: Route<'manifest'>,
    req: RegistryRequest,
    res: Response,
  ): Promise<void> {
    const repositoryId = await this.cachedRepositoryId(route.name);
    let { manifest: m, digest } = await this.manifests.get(repositoryId, route.reference);
    const choice = chooseManifest(req.headers.accept, m, !looksLikeDigest(route.reference));
    if (choice.serve === 'none') throw new RegistryError('MANIFEST_UNKNOWN', choice.message);
    if (choice.serve === 'entry')
      ({ manifest: m, digest } = await this.manifests.get(repositoryId, choice.digest));
    res.status(200);
    res.setHeader('Content-Type', m.mediaType);
    res.setHeader('Content-Length', m.content.length);
    res.setHeader('Docker-Content-Digest', digest);
    res.setHeader('ETag', `"${digest}"`);
    if (req.method === 'HEAD') return void res.end();
    manifestsPulled.inc();
    this.pulls.record(repositoryId, looksLikeDigest(route.reference) ? undefined : route.reference);
    res.end(m.content);
    // AUDIT_PULLS: recorded on its own transaction once the manifest is on its way (not awaited).
    if (this.config.audit.pulls)
      this.auditPull(req, { id: repositoryId, name: route.name }, route.reference, m.digest);
  }

  private auditPull(req: RegistryRequest, repo: RepoRef, reference: string, digest: string): void {
    this.events
      .recordAlone(
        event('manifest.pulled', req.registryActor!, {
          repositoryId: repo.id,
          repository: repo.name,
          reference,
          digest,
        }),
      )
      .catch((e: Error) => new Logger('Registry').warn(`auditing a pull failed: ${e.message}`));
  }

  private async putManifest(
    route: Route<'manifest'>,
    req: RegistryRequest,
    res: Response,
  ): Promise<void> {
    const body = await readSmallBody(req, this.config.maxManifestBytes);
    const extraTags = queryList(req.query.tag);
    const result = await this.push.putManifest(
      route.name,
      route.reference,
      body,
      req.headers['content-type'],
      extraTags,
      req.registryActor!,
    );
    res.setHeader('Location', `/v2/${route.name}/manifests/${result.digest}`);
    res.setHeader('Docker-Content-Digest', result.digest);
    // With `?tag=`, one OCI-Tag header for each tag the manifest now answers to.
    if (extraTags.length) res.setHeader('OCI-Tag', result.tags);
    if (result.subject) res.setHeader('OCI-Subject', result.subject);
    manifestsPushed.inc();
    res.status(201).end();
  }

  private async deleteManifest(
    route: Route<'manifest'>,
    req: RegistryRequest,
    res: Response,
  ): Promise<void> {
    const repo = await this.repository(route.name);
    await this.manifests.delete(repo, route.reference, req.registryActor!);
    res.status(202).end();
  }

  private async getBlob(route: Route<'blob'>, req: RegistryRequest, res: Response): Promise<void> {
    const repositoryId = await this.cachedRepositoryId(route.name);
    const size = await this.blobs.requireInRepository(repositoryId, route.digest);
    const head = req.method === 'HEAD';
    res.setHeader('Docker-Content-Digest', route.digest);
    res.setHeader('Accept-Ranges', 'bytes');
    // With redirects on (S3), GET and HEAD go to a presigned URL of the storage itself.
    const redirect = await this.blobs.redirectUrl(route.digest, head ? 'HEAD' : 'GET');
    if (redirect) {
      res.setHeader('Location', redirect);
      return void res.status(307).end();
    }
    res.setHeader('Content-Type', 'application/octet-stream');
    res.setHeader('ETag', `"${route.digest}"`);
    const range = parseRangeHeader(req.headers.range, size);
    if (range.kind === 'unsatisfiable') {
      throw new RegistryError('BLOB_UNKNOWN', 'requested range not satisfiable', { size }, 416, {
        'Content-Range': `bytes */${size}`,
      });
    }
    if (range.kind === 'partial') {
      res.status(206);
      res.setHeader('Content-Range', `bytes ${range.range.start}-${range.range.end}/${size}`);
      res.setHeader('Content-Length', range.range.end - range.range.start + 1);
    } else {
      res.status(200);
      res.setHeader('Content-Length', size);
    }
    if (head || size === 0) return void res.end();
    const stream = await this.blobs.open(
      route.digest,
      range.kind === 'partial' ? range.range : undefined,
    );
    // From a file: read into reused buffers and written straight to the response.
    if (canSend(stream)) await stream.sendTo(res).catch(() => res.destroy());
    else await pipeline(stream, res).catch(() => res.destroy());
  }

  private async deleteBlob(
    route: Route<'blob'>,
    req: RegistryRequest,
    res: Response,
  ): Promise<void> {
    const repo = await this.repository(route.name);
    await this.blobs.unlink(repo, route.digest, req.registryActor!);
    res.status(202).end();
  }

  private async startUpload(
    route: Route<'uploadStart'>,
    req: RegistryRequest,
    res: Response,
  ): Promise<void> {
    const mount = queryString(req.query.mount);
    const from = queryString(req.query.from);
    const digest = queryString(req.query.digest);
    const algorithmParam = queryString(req.query['digest-algorithm']);
    if (algorithmParam !== undefined && !isDigestAlgorithm(algorithmParam)) {
      throw new RegistryError(
        'UNSUPPORTED',
        `unsupported digest algorithm "${algorithmParam}"`,
        undefined,
        400,
      );
    }
    const actor = req.registryActor!;
    if (mount !== undefined) parseDigest(mount);
    const algorithm: DigestAlgorithm =
      digest !== undefined
        ? parseDigest(digest).algorithm
        : ((algorithmParam ?? 'sha256') as DigestAlgorithm);
    const monolithic = digest !== undefined && mount === undefined;
    // Monolithic upload: the whole blob is the body of this POST (publishing may take a while).
    if (monolithic) suspendIdleTimeout(req, res);
    const started = await this.push.startUpload(
      route.name,
      {
        mount,
        from,
        mountAllowed: !!req.registryMountAllowed,
        algorithm,
        ...(monolithic
          ? { monolithic: { digest, body: uploadBody(req), length: contentLength(req) } }
          : {}),
      },
      actor,
    );
    if (started.kind === 'mounted') {
      req.resume();
      res.setHeader('Location', `/v2/${route.name}/blobs/${mount}`);
      res.setHeader('Docker-Content-Digest', mount!);
      return void res.status(201).end();
    }
    if (started.kind === 'stored') {
      res.setHeader('Location', `/v2/${route.name}/blobs/${started.digest}`);
      res.setHeader('Docker-Content-Digest', started.digest);
      return void res.status(201).end();
    }
    // Not mountable (or no mount asked): an ordinary upload session, as the spec asks.
    const { upload } = started;
    req.resume();
    res.setHeader('Location', uploadLocation(route.name, upload.id));
    res.setHeader('Docker-Upload-UUID', upload.id);
    res.setHeader('Range', '0-0');
    res.setHeader('Content-Length', '0');
    res.status(202).end();
  }

  private setUploadHeaders(res: Response, name: string, id: string, offset: number): void {
    res.setHeader('Location', uploadLocation(name, id));
    res.setHeader('Docker-Upload-UUID', id);
    res.setHeader('Range', `0-${Math.max(offset - 1, 0)}`);
  }

  private async uploadStatus(route: Route<'upload'>, res: Response): Promise<void> {
    const repositoryId = await this.cachedRepositoryId(route.name);
    const s = await this.uploads.status(repositoryId, route.uuid);
    this.setUploadHeaders(res, route.name, s.id, s.offset);
    res.setHeader('Content-Length', '0');
    res.status(204).end();
  }

  /** On 416 the client needs to know where the upload really stands. */
  private async withRangeOnConflict<T>(
    route: Route<'upload'>,
    repositoryId: string,
    fn: () => Promise<T>,
  ): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      if (e instanceof RegistryError && e.status === 416) {
        const s = await this.uploads.status(repositoryId, route.uuid).catch(() => undefined);
        if (s) {
          e.headers.Location = uploadLocation(route.name, s.id);
          e.headers.Range = `0-${Math.max(s.offset - 1, 0)}`;
          e.headers['Docker-Upload-UUID'] = s.id;
        }
      }
      throw e;
    }
  }

  private async patchUpload(
    route: Route<'upload'>,
    req: RegistryRequest,
    res: Response,
  ): Promise<void> {
    const repositoryId = await this.cachedRepositoryId(route.name);
    const range = parseContentRange(req.headers['content-range']);
    const s = await this.withRangeOnConflict(route, repositoryId, () =>
      this.uploads.append(
        repositoryId,
        route.uuid,
        uploadBody(req),
        { range, length: contentLength(req) },
        req.registryActor!,
      ),
    );
    this.setUploadHeaders(res, route.name, s.id, s.offset);
    res.setHeader('Content-Length', '0');
    res.status(202).end();
  }

  private async completeUpload(
    route: Route<'upload'>,
    req: RegistryRequest,
    res: Response,
  ): Promise<void> {
    const digest = queryString(req.query.digest);
    if (digest === undefined)
      throw new RegistryError('DIGEST_INVALID', 'digest query parameter is required');
    parseDigest(digest);
    const repo = await this.cachedRepository(route.name);
    const repositoryId = repo.id;
    const body = hasBody(req) ? uploadBody(req) : undefined;
    const range = parseContentRange(req.headers['content-range']);
    // Publishing may take a while (reading the bytes back, a server-side copy): not idleness.
    suspendIdleTimeout(req, res);
    const { digest: stored } = await this.withRangeOnConflict(route, repositoryId, () =>
      this.uploads.complete(
        repo,
        route.uuid,
        digest,
        body,
        { range, length: contentLength(req) },
        req.registryActor!,
      ),
    );
    res.setHeader('Location', `/v2/${route.name}/blobs/${stored}`);
    res.setHeader('Docker-Content-Digest', stored);
    res.setHeader('Content-Length', '0');
    res.status(201).end();
  }

  private async cancelUpload(route: Route<'upload'>, res: Response): Promise<void> {
    const repositoryId = await this.cachedRepositoryId(route.name);
    await this.uploads.cancel(repositoryId, route.uuid);
    res.setHeader('Content-Length', '0');
    res.status(204).end();
  }

  private async referrers(
    route: Route<'referrers'>,
    req: RegistryRequest,
    res: Response,
  ): Promise<void> {
    const repo = await this.repos.findByName(route.name);
    const artifactType = queryString(req.query.artifactType);
    const body = await this.manifests.referrers(repo?.id, route.digest, artifactType);
    if (artifactType !== undefined) res.setHeader('OCI-Filters-Applied', 'artifactType');
    res.status(200);
    res.setHeader('Content-Type', 'application/vnd.oci.image.index.v1+json');
    res.setHeader('Content-Length', body.length);
    res.end(body);
  }
}
