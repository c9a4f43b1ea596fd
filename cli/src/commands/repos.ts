import { Argument, type Command, Option } from 'commander';
import type { Api, Schemas } from '../api.js';
import { usageError } from '../errors.js';
import { parseRepoRef, type RepoRef } from '../names.js';
import { formatAge, formatBytes, formatDate, shortDigest } from '../output.js';
import { collectPages, parseLimit, truncationNote } from '../paging.js';
import { confirmByName } from '../prompt.js';
import { Runtime } from '../runtime.js';
import { withSpinner } from '../spinner.js';

export const DEFAULT_LIMIT = 100;

export function limitOption(): Option {
  return new Option('--limit <n>', 'show at most n items; 0 shows all')
    .argParser(parseLimit)
    .default(DEFAULT_LIMIT);
}

function cut(text: string | null | undefined, max = 50): string {
  if (!text) return '-';
  const one = text.replace(/\s+/g, ' ').trim();
  return one.length > max ? `${one.slice(0, max - 1)}…` : one;
}

const INDEX_TYPES = new Set([
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
]);
const IMAGE_TYPES = new Set([
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
]);

/** "index" (several platforms), "image", or the media type itself. */
export function manifestKind(mediaType: string): string {
  if (INDEX_TYPES.has(mediaType)) return 'index';
  if (IMAGE_TYPES.has(mediaType)) return 'image';
  return mediaType;
}

function repoPath(ref: RepoRef) {
  return { namespace: ref.namespace, name: ref.name };
}

async function details(api: Api, ref: RepoRef): Promise<Schemas['RepoDetailsDto']> {
  return api.call(
    api.client.GET('/api/v1/repos/{namespace}/{name}', { params: { path: repoPath(ref) } }),
  );
}

function tagRows(tags: Schemas['TagDto'][], full: boolean): string[][] {
  return tags.map((t) => [
    t.name,
    shortDigest(t.digest, full),
    manifestKind(t.mediaType),
    t.platforms.join(',') || '-',
    formatBytes(t.size),
    formatAge(t.pushedAt),
  ]);
}

const TAG_HEAD = ['TAG', 'DIGEST', 'TYPE', 'PLATFORMS', 'SIZE', 'PUSHED'];

async function search(query: string, opts: { kind?: string[]; limit: number }, cmd: Command) {
  const rt = Runtime.of(cmd);
  const api = rt.client();
  const kinds = (opts.kind ?? [])
    .flatMap((k) => k.split(','))
    .map((k) => k.trim())
    .filter(Boolean);
  const allowed = ['repository', 'organization', 'user'] as const;
  type Kind = (typeof allowed)[number];
  for (const k of kinds)
    if (!(allowed as readonly string[]).includes(k))
      throw usageError(`--kind must be repository, organization or user, not "${k}"`);
  const { items, total } = await withSpinner(rt.out, 'Searching', () =>
    collectPages(
      (page, perPage) =>
        api.call(
          api.client.GET('/api/v1/search', {
            params: {
              query: {
                q: query,
                page,
                perPage,
                ...(kinds.length ? { kind: kinds as Kind[] } : {}),
              },
            },
          }),
        ),
      opts.limit,
    ),
  );
  if (rt.out.json) return rt.out.data(items);
  rt.out.table(
    ['KIND', 'NAME', 'MATCH', 'DETAILS'],
    items.map((r) => [
      r.kind,
      r.name,
      r.match,
      r.kind === 'repository'
        ? [r.visibility, r.description ? cut(r.description, 40) : ''].filter(Boolean).join(', ')
        : cut(r.displayName ?? r.description, 40),
    ]),
    `Nothing matches "${query}".`,
  );
  const note = truncationNote(items.length, total);
  if (note) rt.out.note(note);
}

async function repoList(
  namespace: string | undefined,
  opts: { query?: string; limit: number },
  cmd: Command,
) {
  const rt = Runtime.of(cmd);
  const api = rt.client();
  const { items, total } = await withSpinner(rt.out, 'Listing repositories', () =>
    collectPages(
      (page, perPage) =>
        api.call(
          api.client.GET('/api/v1/repos', {
            params: {
              query: {
                page,
                perPage,
                ...(namespace ? { namespace: namespace.toLowerCase() } : {}),
                ...(opts.query ? { q: opts.query } : {}),
              },
            },
          }),
        ),
      opts.limit,
    ),
  );
  if (rt.out.json) return rt.out.data(items);
  rt.out.table(
    ['NAME', 'VISIBILITY', 'ACCESS', 'LAST PUSH', 'DESCRIPTION'],
    items.map((r) => [
      r.name,
      r.visibility,
      r.permission,
      formatAge(r.lastPushedAt),
      cut(r.description),
    ]),
    'No repositories.',
  );
  const note = truncationNote(items.length, total);
  if (note) rt.out.note(note);
}

async function repoShow(name: string, opts: { trunc: boolean }, cmd: Command) {
  const rt = Runtime.of(cmd);
  const api = rt.client();
  const ref = parseRepoRef(name, { tag: 'forbidden' });
  const repo = await withSpinner(rt.out, 'Reading the repository', () => details(api, ref));
  if (rt.out.json) return rt.out.data(repo);
  rt.out.fields([
    ['Name', repo.name],
    ['Visibility', repo.visibility],
    ['Access', repo.permission],
    ['Description', repo.description ?? '-'],
    ['Created', formatDate(repo.createdAt)],
    [
      'Last push',
      repo.lastPushedAt
        ? `${formatAge(repo.lastPushedAt)} (${formatDate(repo.lastPushedAt)})`
        : '-',
    ],
    ['Tags', `${repo.tags.length}${repo.tagsTruncated ? '+' : ''}`],
  ]);
  if (repo.tags.length) {
    rt.out.line();
    rt.out.table(TAG_HEAD, tagRows(repo.tags, !opts.trunc));
  }
  if (repo.tagsTruncated) rt.out.note(`the server lists the first ${repo.tags.length} tags`);
}

async function repoCreate(
  name: string,
  opts: { visibility?: 'public' | 'private'; description?: string },
  cmd: Command,
) {
  const rt = Runtime.of(cmd);
  const api = rt.client();
  const ref = parseRepoRef(name, { tag: 'forbidden' });
  const repo = await api.call(
    api.client.POST('/api/v1/repos', {
      body: {
        namespace: ref.namespace,
        name: ref.name,
        ...(opts.visibility ? { visibility: opts.visibility } : {}),
        ...(opts.description !== undefined ? { description: opts.description } : {}),
      },
    }),
  );
  if (rt.out.json) return rt.out.data(repo);
  rt.out.line(`Created repository ${repo.name} (${repo.visibility}).`);
}

async function repoDelete(name: string, opts: { yes?: boolean }, cmd: Command) {
  const rt = Runtime.of(cmd);
  const api = rt.client();
  const ref = parseRepoRef(name, { tag: 'forbidden' });
  await confirmByName(`Deleting repository ${ref.full} with all its tags`, ref.full, !!opts.yes);
  await api.done(
    api.client.DELETE('/api/v1/repos/{namespace}/{name}', { params: { path: repoPath(ref) } }),
  );
  if (rt.out.json) return rt.out.data({ repository: ref.full, deleted: true });
  rt.out.line(`Deleted repository ${ref.full}.`);
}

async function repoUpdate(
  cmd: Command,
  name: string,
  body: { visibility?: 'public' | 'private'; description?: string | null },
  said: (r: Schemas['RepoDto']) => string,
) {
  const rt = Runtime.of(cmd);
  const api = rt.client();
  const ref = parseRepoRef(name, { tag: 'forbidden' });
  const repo = await api.call(
    api.client.PATCH('/api/v1/repos/{namespace}/{name}', {
      params: { path: repoPath(ref) },
      body,
    }),
  );
  if (rt.out.json) return rt.out.data(repo);
  rt.out.line(said(repo));
}

async function tagList(name: string, opts: { limit: number; trunc: boolean }, cmd: Command) {
  const rt = Runtime.of(cmd);
  const api = rt.client();
  const ref = parseRepoRef(name, { tag: 'forbidden' });
  const repo = await withSpinner(rt.out, 'Listing tags', () => details(api, ref));
  const tags = opts.limit > 0 ? repo.tags.slice(0, opts.limit) : repo.tags;
  if (rt.out.json) return rt.out.data(tags);
  rt.out.table(TAG_HEAD, tagRows(tags, !opts.trunc), `No tags in ${repo.name}.`);
  if (tags.length < repo.tags.length) rt.out.note(truncationNote(tags.length, repo.tags.length)!);
  else if (repo.tagsTruncated) rt.out.note(`the server lists the first ${repo.tags.length} tags`);
}

async function tagRemove(refs: string[], _opts: unknown, cmd: Command) {
  const rt = Runtime.of(cmd);
  const api = rt.client();
  const parsed = refs.map((r) => parseRepoRef(r, { tag: 'required' }));
  const removed: { repository: string; tag: string; deleted: true }[] = [];
  for (const ref of parsed) {
    try {
      await api.done(
        api.client.DELETE('/api/v1/repos/{namespace}/{name}/tags/{tag}', {
          params: { path: { ...repoPath(ref), tag: ref.tag! } },
        }),
      );
    } catch (e) {
      // What was removed before the failure is reported, then the failure.
      if (rt.out.json && removed.length) rt.out.data(removed);
      throw e;
    }
    removed.push({ repository: ref.full, tag: ref.tag!, deleted: true });
    rt.out.done(`Deleted tag ${ref.full}:${ref.tag}.`);
  }
  if (rt.out.json) rt.out.data(removed);
}

async function tagHistory(name: string, opts: { limit: number; trunc: boolean }, cmd: Command) {
  const rt = Runtime.of(cmd);
  const api = rt.client();
  const ref = parseRepoRef(name, { tag: 'required' });
  const { items, total } = await withSpinner(rt.out, 'Reading the tag history', () =>
    collectPages(
      (page, perPage) =>
        api.call(
          api.client.GET('/api/v1/repos/{namespace}/{name}/tags/{tag}/history', {
            params: { path: { ...repoPath(ref), tag: ref.tag! }, query: { page, perPage } },
          }),
        ),
      opts.limit,
    ),
  );
  if (rt.out.json) return rt.out.data(items);
  const digest = (d: string | null) => (d ? shortDigest(d, !opts.trunc) : '-');
  rt.out.table(
    ['WHEN', 'ACTION', 'FROM', 'TO', 'BY'],
    items.map((h) => [
      formatDate(h.at),
      h.action,
      digest(h.oldDigest),
      digest(h.newDigest),
      h.actor.name ?? h.actor.kind,
    ]),
    `No history for ${ref.full}:${ref.tag}.`,
  );
  const note = truncationNote(items.length, total);
  if (note) rt.out.note(note);
}

async function tagRestore(name: string, digest: string, _opts: unknown, cmd: Command) {
  const rt = Runtime.of(cmd);
  const api = rt.client();
  const ref = parseRepoRef(name, { tag: 'required' });
  if (!/^sha256:[a-f0-9]{64}$/.test(digest))
    throw usageError(`the digest must be a full sha256 digest (sha256:…), not "${digest}"`);
  const restored = await api.call(
    api.client.POST('/api/v1/repos/{namespace}/{name}/tags/{tag}/restore', {
      params: { path: { ...repoPath(ref), tag: ref.tag! } },
      body: { digest },
    }),
  );
  if (rt.out.json) return rt.out.data(restored);
  rt.out.done(
    restored.previousDigest === restored.digest
      ? `${ref.full}:${ref.tag} already points at ${shortDigest(digest, true)}.`
      : `${ref.full}:${ref.tag} points at ${shortDigest(digest, true)} again.`,
  );
}

async function immutableTags(
  name: string,
  opts: { set?: string[]; clear?: boolean },
  cmd: Command,
) {
  const rt = Runtime.of(cmd);
  const api = rt.client();
  const ref = parseRepoRef(name, { tag: 'forbidden' });
  if (opts.set && opts.clear) throw usageError('use either --set or --clear');
  const path = { params: { path: repoPath(ref) } };
  const result =
    opts.set || opts.clear
      ? await api.call(
          api.client.PUT('/api/v1/repos/{namespace}/{name}/immutable-tags', {
            ...path,
            body: { patterns: opts.clear ? [] : opts.set! },
          }),
        )
      : await api.call(api.client.GET('/api/v1/repos/{namespace}/{name}/immutable-tags', path));
  if (rt.out.json) return rt.out.data(result);
  if (!result.patterns.length) return rt.out.line(`No immutable tag patterns in ${ref.full}.`);
  rt.out.line(`Immutable tags of ${ref.full}: ${result.patterns.join(' ')}`);
}

export function registerRepos(program: Command): void {
  program
    .command('search')
    .description('Search repositories, organizations and users you may see')
    .argument('<query>', 'part of a name or display name')
    .addOption(new Option('--kind <kinds...>', 'only these kinds (repository, organization, user)'))
    .addOption(limitOption())
    .action(search);

  const repo = program.command('repo').description('Repositories');
  repo
    .command('ls')
    .description('List the repositories you may see')
    .argument('[namespace]', 'only those of this user or organization')
    .option('-q, --query <text>', 'only names containing text')
    .addOption(limitOption())
    .action(repoList);
  repo
    .command('show')
    .description('Show a repository and its tags (digest, type, platforms, size, push time)')
    .argument('<repository>', 'NAMESPACE/NAME')
    .option('--no-trunc', 'show full digests')
    .action(repoShow);
  repo
    .command('create')
    .description('Create an empty repository')
    .argument('<repository>', 'NAMESPACE/NAME')
    .addOption(
      new Option(
        '--visibility <visibility>',
        'public or private (default: the server default)',
      ).choices(['public', 'private']),
    )
    .addOption(
      new Option('--public', 'same as --visibility public').implies({ visibility: 'public' }),
    )
    .addOption(
      new Option('--private', 'same as --visibility private').implies({ visibility: 'private' }),
    )
    .option('-d, --description <text>', 'description')
    .action(
      (
        name: string,
        opts: { visibility?: 'public' | 'private'; description?: string },
        cmd: Command,
      ) => repoCreate(name, opts, cmd),
    );
  repo
    .command('delete')
    .alias('rm')
    .description('Delete a repository with all its tags and manifests')
    .argument('<repository>', 'NAMESPACE/NAME')
    .option('-y, --yes', 'do not ask for confirmation')
    .action(repoDelete);
  repo
    .command('immutable-tags')
    .description(
      'Show or replace the immutable tag patterns (* any run, ? one character): matching tags can be created but not moved or deleted',
    )
    .argument('<repository>', 'NAMESPACE/NAME')
    .option('--set <patterns...>', 'replace the patterns (repository admins)')
    .option('--clear', 'remove every pattern (repository admins)')
    .action(immutableTags);
  repo
    .command('set-visibility')
    .description('Make a repository public or private')
    .argument('<repository>', 'NAMESPACE/NAME')
    .addArgument(new Argument('<visibility>', 'public or private').choices(['public', 'private']))
    .action((name: string, visibility: 'public' | 'private', _o: unknown, cmd: Command) =>
      repoUpdate(cmd, name, { visibility }, (r) => `${r.name} is now ${r.visibility}.`),
    );
  repo
    .command('set-description')
    .description('Set (or with "" clear) the description of a repository')
    .argument('<repository>', 'NAMESPACE/NAME')
    .argument('<text>', 'the description; "" clears it')
    .action((name: string, text: string, _o: unknown, cmd: Command) =>
      repoUpdate(cmd, name, { description: text === '' ? null : text }, (r) =>
        r.description ? `Description of ${r.name} set.` : `Description of ${r.name} cleared.`,
      ),
    );

  const tag = program.command('tag').description('Tags');
  tag
    .command('ls')
    .description('List the tags of a repository')
    .argument('<repository>', 'NAMESPACE/NAME')
    .addOption(limitOption())
    .option('--no-trunc', 'show full digests')
    .action(tagList);
  tag
    .command('history')
    .description('Show the history of a tag: creations, moves and deletions, newest first')
    .argument('<tag>', 'NAMESPACE/NAME:TAG')
    .addOption(limitOption())
    .option('--no-trunc', 'show full digests')
    .action(tagHistory);
  tag
    .command('restore')
    .description('Point a tag back at a digest from its history (recorded as a push)')
    .argument('<tag>', 'NAMESPACE/NAME:TAG')
    .argument('<digest>', 'sha256:… the tag pointed at before (see tag history)')
    .action(tagRestore);
  tag
    .command('rm')
    .alias('delete')
    .description('Delete tags (the manifests stay, reachable by digest)')
    .argument('<tags...>', 'NAMESPACE/NAME:TAG')
    .action(tagRemove);
}
