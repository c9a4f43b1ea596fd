import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile, spawn } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { join } from 'node:path';
import { basicHeader, RegistryClient } from '../support/registry.js';
import { freePort, startServer, tempDir, type TestServer } from '../support/server.js';
import { describeIfSkopeo, mkimage, skopeo } from '../support/skopeo.js';
import { PROJECT_ROOT } from '../support/test-env.js';
import { ADMIN, api, type Json, login, ok } from './identity-support.js';

// The `aerugo` command run as users run it (node cli/bin/aerugo.js, the package's bin) against a
// real server: every command, --json output parsed, exit codes by class, the configuration file,
// refresh of expired access tokens, the AERUGO_* variables, and the whole scenario with
// skopeo. Each "home" is one person's configuration folder (XDG_CONFIG_HOME).

const BIN = join(PROJECT_ROOT, 'cli/bin/aerugo.js');
// Short enough for the refresh tests to wait for a real expiry, long enough for most commands
// to use a stored access token.
const ACCESS_TTL_SECONDS = 10;

let server: TestServer;
let host: string;
let url: string;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

interface RunOptions {
  home?: string;
  stdin?: string;
  env?: Record<string, string | undefined>;
}

/** A clean environment: nothing of the test runner's AERUGO_*, colors or config leaks in. */
function cliEnv(opts: RunOptions): Record<string, string> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: opts.home ?? tempDir('aerugo-cli-home-'),
    LANG: 'C.UTF-8',
  };
  if (opts.home) env.XDG_CONFIG_HOME = join(opts.home, 'config');
  for (const [k, v] of Object.entries(opts.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

function aerugo(args: string[], opts: RunOptions = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: cliEnv(opts),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    // The CLI may exit before reading its input: its exit code says what happened, not EPIPE.
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.stdin ?? '');
  });
}

/** Runs a command that must succeed; returns its stdout. */
async function okRun(args: string[], opts: RunOptions = {}): Promise<string> {
  const r = await aerugo(args, opts);
  if (r.code !== 0)
    throw new Error(`aerugo ${args.join(' ')} exited ${r.code}\n${r.stderr}\n${r.stdout}`);
  return r.stdout;
}

/** Runs a command with --json that must succeed; returns the parsed output. */
async function json(args: string[], opts: RunOptions = {}): Promise<Json> {
  return JSON.parse(await okRun(['--json', ...args], opts));
}

/** Runs a command that must fail with `code`; returns its one-line error. */
async function fails(code: number, args: string[], opts: RunOptions = {}): Promise<string> {
  const r = await aerugo(args, opts);
  if (r.code !== code)
    throw new Error(
      `aerugo ${args.join(' ')}: expected exit ${code}, got ${r.code}\n${r.stderr}\n${r.stdout}`,
    );
  return r.stderr;
}

function configOf(home: string): Json {
  return JSON.parse(readFileSync(join(home, 'config', 'aerugo', 'config.json'), 'utf8'));
}

function contextOf(home: string): Json {
  const cfg = configOf(home);
  return cfg.contexts[cfg.current];
}

async function waitUntil(what: string, check: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * A reverse proxy to `target` that counts `POST /api/v1/auth/refresh` and answers it after
 * `delayMs`, widening the window in which concurrent CLI processes could race to refresh.
 */
async function slowRefreshProxy(
  target: string,
  delayMs: number,
): Promise<{ url: string; refreshes: number; close: () => Promise<void> }> {
  const state = { refreshes: 0 };
  const srv = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        if (req.url === '/api/v1/auth/refresh') {
          state.refreshes++;
          await new Promise((r) => setTimeout(r, delayMs));
        }
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(req.headers))
          if (typeof v === 'string' && !['host', 'connection', 'content-length'].includes(k))
            headers[k] = v;
        const body = Buffer.concat(chunks);
        const answer = await fetch(`${target}${req.url}`, {
          method: req.method,
          headers,
          body: body.length ? body : undefined,
        });
        const out = Buffer.from(await answer.arrayBuffer());
        res.writeHead(answer.status, {
          'content-type': answer.headers.get('content-type') ?? 'application/octet-stream',
        });
        res.end(out);
      })().catch(() => res.destroy());
    });
  });
  const port = await freePort();
  await new Promise<void>((r) => srv.listen(port, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${port}`,
    get refreshes() {
      return state.refreshes;
    },
    close: () => new Promise<void>((r) => srv.close(() => r())),
  };
}

const PASSWORD = { alice: 'alice-password-1', bob: 'bob-password-1' };
const homes = {
  admin: tempDir('aerugo-cli-admin-'),
  alice: tempDir('aerugo-cli-alice-'),
  bob: tempDir('aerugo-cli-bob-'),
};
const as = (who: keyof typeof homes) => ({ home: homes[who] });

beforeAll(async () => {
  server = await startServer({
    env: {
      ADMIN_USERNAME: ADMIN.username,
      ADMIN_PASSWORD: ADMIN.password,
      JWT_ACCESS_TTL_SECONDS: String(ACCESS_TTL_SECONDS),
    },
  });
  url = server.url;
  host = `127.0.0.1:${server.port}`;
}, 120_000);

afterAll(async () => {
  await server?.stop();
});

describe('usage', () => {
  it('prints help and the version, and exits 2 on a wrong command line', async () => {
    const pkg = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8'));
    const [help, version, bogus, group, missing, choice, jsonErr] = await Promise.all([
      aerugo(['--help']),
      okRun(['--version']),
      fails(2, ['bogus']),
      fails(2, ['repo']),
      fails(2, ['perm', 'grant', 'a/b', '--user', 'x']),
      fails(2, ['repo', 'set-visibility', 'a/b', 'secret']),
      fails(2, ['--json', 'bogus']),
    ]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: aerugo');
    expect(help.stdout).toContain('AERUGO_API_KEY');
    expect(version.trim()).toBe(pkg.version);
    expect(bogus).toMatch(/unknown command 'bogus'/);
    expect(group).toContain('Usage: aerugo repo');
    expect(missing).toMatch(/--level/);
    expect(choice).toMatch(/public, private/);
    expect(JSON.parse(jsonErr.trim().split('\n').pop()!)).toMatchObject({
      error: { exitCode: 2, code: 'USAGE' },
    });
  });
});

describe('login', () => {
  it('needs a server, a user name and (without a terminal) --password-stdin', async () => {
    const [noServer, noUser, noTerminal, both] = await Promise.all([
      fails(2, ['login', '-u', 'x'], as('admin')),
      fails(2, ['login', url], as('admin')),
      fails(2, ['login', url, '-u', ADMIN.username], as('admin')),
      fails(2, ['login', url, '-u', 'a', '--password-stdin', '--api-key-stdin'], as('admin')),
    ]);
    expect(noServer).toMatch(/name the server/);
    expect(noUser).toMatch(/-u USER/);
    expect(noTerminal).toMatch(/--password-stdin/);
    expect(both).toMatch(/exclude/);
  });

  it('refuses a wrong password with exit 3 and stores nothing', async () => {
    const err = await fails(3, ['login', url, '-u', ADMIN.username, '--password-stdin'], {
      ...as('admin'),
      stdin: 'wrong-password\n',
    });
    expect(err.trim().split('\n')).toHaveLength(1);
    expect(() => configOf(homes.admin)).toThrow();
  });

  it('stores the server and the refresh token (never the password) in a private file', async () => {
    const out = await json(['login', host, '-u', ADMIN.username, '--password-stdin'], {
      ...as('admin'),
      stdin: `${ADMIN.password}\n`,
    });
    expect(out).toEqual({ server: url, context: host, username: ADMIN.username, auth: 'session' });
    const dir = join(homes.admin, 'config', 'aerugo');
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, 'config.json')).mode & 0o777).toBe(0o600);
    const text = readFileSync(join(dir, 'config.json'), 'utf8');
    expect(text).not.toContain(ADMIN.password);
    const cfg = JSON.parse(text);
    expect(cfg.current).toBe(host);
    expect(cfg.contexts[host]).toEqual({
      server: url,
      username: ADMIN.username,
      refreshToken: expect.any(String),
      accessToken: expect.any(String),
      accessTokenExpiresAt: expect.any(String),
    });
  });

  it('whoami and status show the server, the user, roles and health', async () => {
    const [whoami, status, human, anon] = await Promise.all([
      okRun(['whoami'], as('admin')),
      json(['status'], as('admin')),
      okRun(['status'], as('admin')),
      json(['status'], { env: { AERUGO_SERVER: url } }),
    ]);
    expect(whoami.trim()).toBe(ADMIN.username);
    expect(status).toMatchObject({
      server: url,
      context: host,
      auth: 'session',
      health: { status: 'ok', database: 'ok', storage: 'ok', cache: { status: 'ok' } },
      user: { username: ADMIN.username, isAdmin: true },
      roles: { systemAdministrator: true },
    });
    expect(human).toMatch(/Health:\s+ok/);
    expect(human).toMatch(/Roles:\s+system administrator/);
    expect(anon).toMatchObject({ user: null, roles: null, auth: 'none', health: { status: 'ok' } });
  });
});

describe('admin user', () => {
  it('creates and lists users; refuses a taken name (exit 6)', async () => {
    for (const who of ['alice', 'bob'] as const) {
      const created = await json(
        ['admin', 'user', 'create', who, '--password-stdin', '--email', `${who}@example.com`],
        { ...as('admin'), stdin: `${PASSWORD[who]}\n` },
      );
      expect(created).toMatchObject({ username: who, email: `${who}@example.com`, isAdmin: false });
    }
    const [users, taken] = await Promise.all([
      json(['admin', 'user', 'ls', '--limit', '0'], as('admin')),
      fails(6, ['admin', 'user', 'create', 'alice', '--password-stdin'], {
        ...as('admin'),
        stdin: 'another-password-1\n',
      }),
    ]);
    expect(users.map((u: Json) => u.username)).toEqual(
      expect.arrayContaining(['alice', 'bob', ADMIN.username]),
    );
    expect(taken).toMatch(/alice/);
  });

  it('promotes, demotes, disables, enables, resets and deletes a user', async () => {
    await json(['admin', 'user', 'create', 'carol', '--password-stdin', '--admin'], {
      ...as('admin'),
      stdin: 'carol-password-1\n',
    });
    expect(await json(['admin', 'user', 'demote', 'carol'], as('admin'))).toMatchObject({
      username: 'carol',
      isAdmin: false,
    });
    expect(await json(['admin', 'user', 'promote', 'carol'], as('admin'))).toMatchObject({
      isAdmin: true,
    });
    expect(await okRun(['admin', 'user', 'disable', 'carol'], as('admin'))).toMatch(
      /Disabled carol/,
    );
    const refused = await api(url, 'POST', '/auth/login', {
      body: { username: 'carol', password: 'carol-password-1' },
    });
    expect(refused.status).toBeGreaterThanOrEqual(400);
    expect(await json(['admin', 'user', 'enable', 'carol'], as('admin'))).toMatchObject({
      active: true,
    });
    await json(['admin', 'user', 'reset-password', 'carol', '--password-stdin'], {
      ...as('admin'),
      stdin: 'carol-new-password-2\n',
    });
    await login(url, 'carol', 'carol-new-password-2');
    // Deleting asks for confirmation, which needs --yes without a terminal.
    expect(await fails(2, ['admin', 'user', 'rm', 'carol'], as('admin'))).toMatch(/--yes/);
    expect(await json(['admin', 'user', 'rm', 'carol', '--yes'], as('admin'))).toEqual({
      username: 'carol',
      deleted: true,
    });
    expect(await fails(4, ['admin', 'user', 'enable', 'carol'], as('admin'))).toMatch(/not found/);
  });

  it('is refused to other users (exit 5) and to nobody signed in (exit 3)', async () => {
    await okRun(['login', url, '-u', 'alice', '--password-stdin'], {
      ...as('alice'),
      stdin: PASSWORD.alice,
    });
    const [denied, anonymous] = await Promise.all([
      fails(5, ['admin', 'user', 'promote', 'alice'], as('alice')),
      fails(3, ['admin', 'user', 'promote', 'alice'], { env: { AERUGO_SERVER: url } }),
    ]);
    expect(denied).toBeTruthy();
    expect(anonymous).toMatch(/not logged in: run `aerugo login`/);
  });
});

describe('the scenario of the issue', () => {
  const maybe = describeIfSkopeo() ? it : it.skip;
  const src = tempDir('aerugo-cli-img-');

  it('alice creates an organization and a team, adds bob, creates a repository and grants the team', async () => {
    await okRun(['org', 'create', 'acme', '--display-name', 'Acme Corp'], as('alice'));
    await okRun(['team', 'create', 'acme', 'devs'], as('alice'));
    await okRun(['org', 'member', 'add', 'acme', 'bob'], as('alice'));
    await okRun(['team', 'member', 'add', 'acme', 'devs', 'bob'], as('alice'));
    await okRun(['repo', 'create', 'acme/app'], as('alice'));
    expect(
      await okRun(['perm', 'grant', 'acme/app', '--team', 'devs', '--level', 'write'], as('alice')),
    ).toMatch(/Granted write on acme\/app to team devs/);
    await okRun(['login', host, '-u', 'bob', '--password-stdin'], {
      ...as('bob'),
      stdin: `${PASSWORD.bob}\n`,
    });
  });

  maybe(
    'bob pushes with skopeo and an API key made with the CLI; repo show lists the tag; the key revoked, the push is refused',
    async () => {
      const [key, digest] = await Promise.all([
        okRun(['apikey', 'create', 'skopeo-push'], as('bob')).then((k) => k.trim()),
        mkimage(src, 'v1', '512k,128k'),
      ]);
      expect(key).toMatch(/^ak_/);
      const push = (tag: string) =>
        skopeo(
          'copy',
          '--dest-tls-verify=false',
          '--preserve-digests',
          '--dest-creds',
          `bob:${key}`,
          `oci:${src}:v1`,
          `docker://${host}/acme/app:${tag}`,
        );
      await push('v1');

      const [shown, table] = await Promise.all([
        json(['repo', 'show', 'acme/app'], as('alice')),
        okRun(['repo', 'show', 'acme/app'], as('alice')),
      ]);
      expect(shown.tags).toEqual([
        expect.objectContaining({
          name: 'v1',
          digest,
          size: expect.any(Number),
          platforms: ['linux/amd64'],
        }),
      ]);
      expect(shown.tags[0].size).toBeGreaterThan(640 * 1024);
      expect(table).toMatch(
        new RegExp(`v1\\s+${digest.slice(0, 19)}\\s+image\\s+linux/amd64\\s+\\d`),
      );

      expect(await okRun(['apikey', 'revoke', 'skopeo-push'], as('bob'))).toMatch(/Revoked/);
      await expect(push('v2')).rejects.toThrow(/unauthorized|401|denied|authentication/i);
    },
    240_000,
  );
});

describe('repositories and tags', () => {
  it('creates, lists, shows, changes and deletes repositories', async () => {
    const created = await json(
      ['repo', 'create', 'alice/tool', '--public', '-d', 'A tool'],
      as('alice'),
    );
    expect(created).toMatchObject({
      name: 'alice/tool',
      visibility: 'public',
      description: 'A tool',
      permission: 'admin',
    });
    const [exists, denied, badName, listed, table] = await Promise.all([
      fails(6, ['repo', 'create', 'alice/tool'], as('alice')),
      fails(5, ['repo', 'create', 'alice/nope'], as('bob')),
      fails(2, ['repo', 'create', 'alice'], as('alice')),
      json(['repo', 'ls', 'alice'], as('alice')),
      okRun(['repo', 'ls', 'alice'], as('alice')),
    ]);
    expect(exists).toMatch(/exists/);
    expect(denied).toBeTruthy();
    expect(badName).toMatch(/NAMESPACE\/NAME/);
    expect(listed).toEqual([expect.objectContaining({ name: 'alice/tool', visibility: 'public' })]);
    expect(table).toMatch(
      /NAME\s+VISIBILITY\s+ACCESS\s+LAST PUSH\s+DESCRIPTION\nalice\/tool\s+public\s+admin\s+-\s+A tool/,
    );

    expect(
      await json(['repo', 'set-visibility', 'alice/tool', 'private'], as('alice')),
    ).toMatchObject({ visibility: 'private' });
    expect(
      await json(['repo', 'set-description', 'alice/tool', 'Better'], as('alice')),
    ).toMatchObject({ description: 'Better' });
    expect(await json(['repo', 'set-description', 'alice/tool', ''], as('alice'))).toMatchObject({
      description: null,
    });
    const [hidden, missing, unconfirmed] = await Promise.all([
      // Private now: bob cannot see it (exit 4, like a missing one).
      fails(4, ['repo', 'show', 'alice/tool'], as('bob')),
      fails(4, ['repo', 'show', 'alice/none'], as('alice')),
      fails(2, ['repo', 'delete', 'alice/tool'], as('alice')),
    ]);
    expect(hidden).toMatch(/not found/);
    expect(missing).toMatch(/not found/);
    expect(unconfirmed).toMatch(/--yes/);
    expect(await json(['repo', 'delete', 'alice/tool', '--yes'], as('alice'))).toEqual({
      repository: 'alice/tool',
      deleted: true,
    });
    expect(await fails(4, ['repo', 'show', 'alice/tool'], as('alice'))).toBeTruthy();
  });

  it('follows pages automatically, up to --limit', async () => {
    const { key } = await ok(url, 'POST', '/api-keys', {
      auth: { basic: ['alice', PASSWORD.alice] },
      body: { name: 'bulk' },
    });
    for (let i = 0; i < 103; i++)
      await ok(url, 'POST', '/repos', {
        auth: { apiKey: key },
        body: { namespace: 'alice', name: `many/r${String(i).padStart(3, '0')}` },
      });
    await ok(
      url,
      'DELETE',
      `/api-keys/${(await ok(url, 'GET', '/api-keys', { auth: { apiKey: key } }))[0].id}`,
      {
        auth: { apiKey: key },
      },
    );
    const [all, byDefault, five, bad] = await Promise.all([
      aerugo(['--json', '--verbose', 'repo', 'ls', 'alice', '--limit', '0'], as('alice')),
      json(['repo', 'ls', 'alice'], as('alice')),
      aerugo(['repo', 'ls', 'alice', '--limit', '5'], as('alice')),
      fails(2, ['repo', 'ls', '--limit', 'lots'], as('alice')),
    ]);
    expect(all.code).toBe(0);
    const items = JSON.parse(all.stdout);
    expect(items).toHaveLength(103);
    expect(new Set(items.map((r: Json) => r.name)).size).toBe(103);
    expect(all.stderr).toMatch(/> GET \S+\/api\/v1\/repos\?page=1&perPage=100&namespace=alice/);
    expect(all.stderr).toMatch(/> GET \S+\/api\/v1\/repos\?page=2&perPage=100&namespace=alice/);
    // The default limit (100) and a smaller one; the cut is said on stderr only.
    expect(byDefault).toHaveLength(100);
    expect(five.stdout.trim().split('\n')).toHaveLength(6);
    expect(five.stderr).toContain('5 of 103 shown; --limit 0 shows all');
    expect(bad).toMatch(/whole number/);
  });

  it('lists and deletes tags through the management API', async () => {
    await okRun(['repo', 'create', 'alice/tagged'], as('alice'));
    const reg = new RegistryClient(url, { authorization: basicHeader('alice', PASSWORD.alice) });
    const { digest, body } = await reg.pushImage('alice/tagged', 'v1', ['layer-1']);
    for (const t of ['v2', 'v3'])
      expect((await reg.putManifest('alice/tagged', t, body)).status).toBe(201);

    const [tags, two] = await Promise.all([
      json(['tag', 'ls', 'alice/tagged'], as('alice')),
      aerugo(['tag', 'ls', 'alice/tagged', '--limit', '2', '--no-trunc'], as('alice')),
    ]);
    expect(tags.map((t: Json) => t.name)).toEqual(['v1', 'v2', 'v3']);
    expect(tags[0]).toEqual({
      name: 'v1',
      digest,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      size: expect.any(Number),
      platforms: ['linux/amd64'],
      pushedAt: expect.any(String),
      pullCount: 0,
      lastPulledAt: null,
    });
    expect(two.stdout).toContain(digest);
    expect(two.stderr).toContain('2 of 3 shown');

    // Warm the registry's tag cache, then delete through /api/v1.
    expect((await reg.fetch('/v2/alice/tagged/manifests/v1', { method: 'HEAD' })).status).toBe(200);
    expect(await json(['tag', 'rm', 'alice/tagged:v1', 'alice/tagged:v2'], as('alice'))).toEqual([
      { repository: 'alice/tagged', tag: 'v1', deleted: true },
      { repository: 'alice/tagged', tag: 'v2', deleted: true },
    ]);
    expect((await reg.fetch('/v2/alice/tagged/manifests/v1', { method: 'HEAD' })).status).toBe(404);
    expect(
      (await reg.fetch(`/v2/alice/tagged/manifests/${digest}`, { method: 'HEAD' })).status,
    ).toBe(200);
    const [left, gone, noTag, unseen] = await Promise.all([
      json(['tag', 'ls', 'alice/tagged'], as('alice')),
      fails(4, ['tag', 'rm', 'alice/tagged:v1'], as('alice')),
      fails(2, ['tag', 'rm', 'alice/tagged'], as('alice')),
      fails(4, ['tag', 'rm', 'alice/tagged:v3'], as('bob')),
    ]);
    expect(left.map((t: Json) => t.name)).toEqual(['v3']);
    expect(gone).toMatch(/not found/);
    expect(noTag).toMatch(/name the tag/);
    expect(unseen).toBeTruthy();
    await okRun(
      ['perm', 'grant', 'alice/tagged', '--user', 'bob', '--level', 'write'],
      as('alice'),
    );
    expect(await fails(5, ['tag', 'rm', 'alice/tagged:v3'], as('bob'))).toMatch(/admin/);
  });

  it('shows a tag history, restores a tag and manages immutable tag patterns', async () => {
    const reg = new RegistryClient(url, { authorization: basicHeader('alice', PASSWORD.alice) });
    const first = await reg.pushImage('alice/tagged', 'rel', ['layer-h1']);
    const second = await reg.pushImage('alice/tagged', 'rel', ['layer-h2']);
    const history = await json(['tag', 'history', 'alice/tagged:rel'], as('alice'));
    expect(history.map((h: Json) => [h.action, h.oldDigest, h.newDigest])).toEqual([
      ['moved', first.digest, second.digest],
      ['created', null, first.digest],
    ]);
    const table = await okRun(['tag', 'history', 'alice/tagged:rel', '--no-trunc'], as('alice'));
    expect(table).toContain(second.digest);
    expect(table).toContain('alice');
    expect(await json(['tag', 'restore', 'alice/tagged:rel', first.digest], as('alice'))).toEqual({
      tag: 'rel',
      digest: first.digest,
      previousDigest: second.digest,
    });
    expect(await fails(2, ['tag', 'restore', 'alice/tagged:rel', 'latest'], as('alice'))).toMatch(
      /sha256/,
    );

    expect(
      await json(['repo', 'immutable-tags', 'alice/tagged', '--set', 'rel*', 'v?'], as('alice')),
    ).toEqual({ patterns: ['rel*', 'v?'] });
    expect(await okRun(['repo', 'immutable-tags', 'alice/tagged'], as('alice'))).toContain(
      'rel* v?',
    );
    // bob may push (granted above) but is no repository admin.
    expect(
      await fails(5, ['repo', 'immutable-tags', 'alice/tagged', '--clear'], as('bob')),
    ).toBeTruthy();
    expect(
      await fails(6, ['tag', 'restore', 'alice/tagged:rel', second.digest], as('alice')),
    ).toMatch(/immutable/);
    expect(await fails(6, ['tag', 'delete', 'alice/tagged:rel'], as('alice'))).toMatch(/rel\*/);
    expect(await json(['repo', 'immutable-tags', 'alice/tagged', '--clear'], as('alice'))).toEqual({
      patterns: [],
    });
    await okRun(['tag', 'delete', 'alice/tagged:rel'], as('alice'));
  });

  it('searches what the caller may see', async () => {
    const [orgs, repos, none, anonymous, badKind] = await Promise.all([
      json(['search', 'acme'], as('bob')),
      json(['search', 'tagged', '--kind', 'repository'], as('alice')),
      json(['search', 'tagged', '--kind', 'user,organization'], as('alice')),
      json(['search', 'tagged'], { env: { AERUGO_SERVER: url } }),
      fails(2, ['search', 'x', '--kind', 'image'], as('alice')),
    ]);
    expect(orgs).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ kind: 'organization', name: 'acme', match: 'exact' }),
      ]),
    );
    expect(repos).toEqual([expect.objectContaining({ kind: 'repository', name: 'alice/tagged' })]);
    expect(none).toEqual([]);
    expect(anonymous).toEqual([]); // alice/tagged is private
    expect(badKind).toMatch(/--kind/);
  });
});

describe('organizations, teams and grants', () => {
  it('lists and shows organizations with roles, members and teams', async () => {
    await okRun(['org', 'create', 'beta'], as('alice'));
    await okRun(['org', 'member', 'add', 'beta', 'bob', '--role', 'admin'], as('alice'));
    const [aliceOrgs, bobOrgs, shown, table, status, taken] = await Promise.all([
      json(['org', 'ls'], as('alice')),
      json(['org', 'ls'], as('bob')),
      json(['org', 'show', 'acme'], as('alice')),
      okRun(['org', 'show', 'acme'], as('alice')),
      json(['status'], as('bob')),
      fails(6, ['org', 'create', 'acme'], as('bob')),
    ]);
    expect(aliceOrgs).toEqual([
      expect.objectContaining({ name: 'acme', role: 'owner', displayName: 'Acme Corp' }),
      expect.objectContaining({ name: 'beta', role: 'owner' }),
    ]);
    expect(bobOrgs).toEqual([
      expect.objectContaining({ name: 'acme', role: 'member' }),
      expect.objectContaining({ name: 'beta', role: 'admin' }),
    ]);
    expect(shown).toMatchObject({ name: 'acme', role: 'owner' });
    expect(shown.members.map((m: Json) => [m.user.username, m.role])).toEqual([
      ['alice', 'owner'],
      ['bob', 'member'],
    ]);
    expect(shown.teams).toEqual([expect.objectContaining({ name: 'devs', members: 1 })]);
    expect(table).toMatch(/USER\s+ROLE[\s\S]*TEAM\s+MEMBERS/);
    expect(status.roles).toEqual({
      systemAdministrator: false,
      organizations: [
        { name: 'acme', role: 'member' },
        { name: 'beta', role: 'admin' },
      ],
    });
    expect(taken).toMatch(/taken|exists/);
  });

  it('adds, changes and removes members, teams and team members', async () => {
    expect(
      await json(['org', 'member', 'set-role', 'beta', 'bob', 'member'], as('alice')),
    ).toMatchObject({ user: { username: 'bob' }, role: 'member' });
    const [members, denied, nobody, badRole, team] = await Promise.all([
      json(['org', 'member', 'ls', 'beta'], as('alice')),
      fails(5, ['org', 'member', 'add', 'beta', ADMIN.username], as('bob')),
      fails(4, ['org', 'member', 'add', 'beta', 'nobody'], as('alice')),
      fails(2, ['org', 'member', 'add', 'beta', 'bob', '--role', 'king'], as('alice')),
      json(['team', 'create', 'beta', 'ops', '-d', 'Operations'], as('alice')),
    ]);
    expect(members.map((m: Json) => m.role)).toEqual(['owner', 'member']);
    expect(denied).toBeTruthy();
    expect(nobody).toBeTruthy();
    expect(badRole).toMatch(/owner, admin, member/);
    expect(team).toMatchObject({ name: 'ops', organization: 'beta', description: 'Operations' });
    expect(await json(['team', 'member', 'add', 'beta', 'ops', 'bob'], as('alice'))).toMatchObject({
      organization: 'beta',
      team: 'ops',
      user: { username: 'bob' },
    });
    const [teams, shownTeam, dup] = await Promise.all([
      json(['team', 'ls', 'beta'], as('alice')),
      json(['team', 'show', 'beta', 'ops'], as('alice')),
      fails(6, ['team', 'create', 'beta', 'ops'], as('alice')),
    ]);
    expect(teams).toEqual([expect.objectContaining({ name: 'ops', members: 1 })]);
    expect(shownTeam).toMatchObject({
      name: 'ops',
      users: [expect.objectContaining({ username: 'bob' })],
    });
    expect(dup).toBeTruthy();
    expect(await json(['team', 'member', 'rm', 'beta', 'ops', 'bob'], as('alice'))).toEqual({
      organization: 'beta',
      team: 'ops',
      username: 'bob',
      removed: true,
    });
    expect(await json(['team', 'rm', 'beta', 'ops'], as('alice'))).toEqual({
      organization: 'beta',
      team: 'ops',
      deleted: true,
    });
    expect(await json(['org', 'member', 'rm', 'beta', 'bob'], as('alice'))).toEqual({
      organization: 'beta',
      username: 'bob',
      removed: true,
    });
    const [teamGone, outsider] = await Promise.all([
      fails(4, ['team', 'show', 'beta', 'ops'], as('alice')),
      // No longer a member: bob sees the organization, not its members nor teams.
      json(['org', 'show', 'beta'], as('bob')),
    ]);
    expect(teamGone).toBeTruthy();
    expect(outsider).toMatchObject({ name: 'beta', role: null, members: null, teams: null });
  });

  it('grants and revokes one user or team at a time', async () => {
    await okRun(['repo', 'create', 'acme/lib'], as('alice'));
    expect(
      await json(['perm', 'grant', 'acme/lib', '--user', 'bob', '--level', 'read'], as('alice')),
    ).toEqual({ users: [{ username: 'bob', level: 'read' }], teams: [] });
    expect(
      await json(['perm', 'grant', 'acme/lib', '--team', 'devs', '--level', 'admin'], as('alice')),
    ).toEqual({
      users: [{ username: 'bob', level: 'read' }],
      teams: [{ team: 'devs', level: 'admin' }],
    });
    expect(await okRun(['perm', 'ls', 'acme/lib'], as('alice'))).toMatch(
      /KIND\s+NAME\s+LEVEL\nuser\s+bob\s+read\nteam\s+devs\s+admin/,
    );
    expect(await json(['perm', 'revoke', 'acme/lib', '--team', 'devs'], as('alice'))).toEqual({
      repository: 'acme/lib',
      team: 'devs',
      revoked: true,
    });
    const [again, neither, both, notAdmin, grants] = await Promise.all([
      fails(4, ['perm', 'revoke', 'acme/lib', '--team', 'devs'], as('alice')),
      fails(2, ['perm', 'revoke', 'acme/lib'], as('alice')),
      fails(
        2,
        ['perm', 'grant', 'acme/lib', '--user', 'bob', '--team', 'devs', '--level', 'read'],
        as('alice'),
      ),
      // bob reads acme/lib but is no admin of it.
      fails(5, ['perm', 'ls', 'acme/lib'], as('bob')),
      json(['perm', 'ls', 'acme/lib'], as('alice')),
    ]);
    expect(again).toMatch(/no grant/);
    expect(neither).toMatch(/exactly one/);
    expect(both).toMatch(/exactly one/);
    expect(notAdmin).toBeTruthy();
    expect(grants).toEqual({ users: [{ username: 'bob', level: 'read' }], teams: [] });
  });

  it('deletes organizations only when empty (exit 6 otherwise)', async () => {
    const [notEmpty, unconfirmed] = await Promise.all([
      fails(6, ['org', 'rm', 'acme', '--yes'], as('alice')),
      fails(2, ['org', 'rm', 'beta'], as('alice')),
    ]);
    expect(notEmpty).toBeTruthy();
    expect(unconfirmed).toMatch(/--yes/);
    expect(await json(['org', 'rm', 'beta', '--yes'], as('alice'))).toEqual({
      organization: 'beta',
      deleted: true,
    });
    expect(await fails(4, ['org', 'show', 'beta'], as('alice'))).toBeTruthy();
  });
});

describe('API keys and sessions', () => {
  it('creates (printed once), lists and revokes API keys by name or id', async () => {
    const created = await json(['apikey', 'create', 'ci', '--expires', '30d'], as('alice'));
    expect(created.key).toMatch(/^ak_/);
    expect(Date.parse(created.expiresAt) - Date.now()).toBeGreaterThan(29 * 86400_000);
    const keyHome = tempDir('aerugo-cli-keyhome-');
    const ci = { env: { AERUGO_SERVER: url, AERUGO_API_KEY: created.key } };
    const [listed, table, viaEnv, stored, badExpiry] = await Promise.all([
      json(['apikey', 'ls'], as('alice')),
      okRun(['apikey', 'ls'], as('alice')),
      // The key works for CI (AERUGO_API_KEY), and as a stored credential (--api-key-stdin).
      okRun(['whoami'], ci),
      json(['login', url, '--api-key-stdin'], { home: keyHome, stdin: `${created.key}\n` }),
      fails(2, ['apikey', 'create', 'x', '--expires', 'soon'], as('alice')),
    ]);
    // (lastUsedAt moves: the key is used meanwhile.)
    expect(listed).toEqual([
      {
        id: created.id,
        name: 'ci',
        prefix: created.prefix,
        createdAt: created.createdAt,
        expiresAt: created.expiresAt,
        lastUsedAt: listed[0].lastUsedAt,
        actions: ['pull', 'push', 'delete', 'api'],
        repositories: null,
      },
    ]);
    expect(table).toMatch(/ID\s+NAME\s+PREFIX\s+SCOPE/);
    expect(table).not.toContain(created.key);
    expect(viaEnv.trim()).toBe('alice');
    expect(stored).toMatchObject({ username: 'alice', auth: 'api-key' });
    expect(badExpiry).toMatch(/--expires/);
    expect((await okRun(['whoami'], { home: keyHome })).trim()).toBe('alice');

    const scoped = await json(
      ['apikey', 'create', 'puller', '--actions', 'pull', '--repositories', 'alice/web/*,alice/db'],
      as('alice'),
    );
    expect(scoped).toMatchObject({ actions: ['pull'], repositories: ['alice/web/*', 'alice/db'] });
    // A pull-only key has no management API access.
    const scopedCi = { env: { AERUGO_SERVER: url, AERUGO_API_KEY: scoped.key } };
    expect(await fails(5, ['whoami'], scopedCi)).toMatch(/management API access/);
    expect(await json(['apikey', 'revoke', scoped.id], as('alice'))).toEqual({
      id: scoped.id,
      revoked: true,
    });

    const second = await json(['apikey', 'create', 'ci'], as('alice'));
    expect(await fails(2, ['apikey', 'revoke', 'ci'], as('alice'))).toMatch(/2 API keys are named/);
    expect(await json(['apikey', 'revoke', second.id], as('alice'))).toEqual({
      id: second.id,
      revoked: true,
    });
    expect(await json(['apikey', 'revoke', 'ci'], as('alice'))).toEqual({
      id: created.id,
      name: 'ci',
      revoked: true,
    });
    const [unknown, envRefused, storedRefused] = await Promise.all([
      fails(4, ['apikey', 'revoke', 'ci'], as('alice')),
      fails(3, ['whoami'], ci),
      fails(3, ['whoami'], { home: keyHome }),
    ]);
    expect(unknown).toMatch(/no API key/);
    expect(envRefused).toMatch(/check AERUGO_API_KEY/);
    expect(storedRefused).toMatch(/aerugo login/);
  });

  it('lists sessions and ends them; ending its own logs the context out', async () => {
    const laptop = tempDir('aerugo-cli-laptop-');
    await okRun(['login', url, '-u', 'alice', '--password-stdin'], {
      home: laptop,
      stdin: PASSWORD.alice,
    });
    const [sessions, laptopSessions] = await Promise.all([
      json(['session', 'ls'], as('alice')),
      json(['session', 'ls'], { home: laptop }),
    ]);
    const mine = sessions.find((s: Json) => s.current);
    expect(mine).toMatchObject({ kind: 'api', userAgent: expect.stringMatching(/^aerugo-cli\//) });
    const laptopSession = laptopSessions.find((s: Json) => s.current);
    expect(laptopSession.id).not.toBe(mine.id);
    expect(sessions.map((s: Json) => s.id)).toContain(laptopSession.id);

    expect(await json(['session', 'revoke', laptopSession.id], as('alice'))).toEqual([
      { id: laptopSession.id, ended: true },
    ]);
    const [ended, again, badId] = await Promise.all([
      fails(3, ['whoami'], { home: laptop }),
      fails(4, ['session', 'revoke', laptopSession.id], as('alice')),
      fails(2, ['session', 'revoke', 'not-an-id'], as('alice')),
    ]);
    expect(ended).toMatch(/has ended|aerugo login/);
    expect(again).toBeTruthy();
    expect(badId).toMatch(/session id/);

    // The laptop ends its own session: its context is logged out.
    await okRun(['login', url, '-u', 'alice', '--password-stdin'], {
      home: laptop,
      stdin: PASSWORD.alice,
    });
    const own = (await json(['session', 'ls'], { home: laptop })).find((s: Json) => s.current);
    const r = await aerugo(['session', 'revoke', own.id], { home: laptop });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/you are logged out/);
    expect(contextOf(laptop).refreshToken).toBeUndefined();
    expect(await fails(3, ['whoami'], { home: laptop })).toMatch(/not logged in/);
  });
});

describe('credentials', () => {
  // Three sessions whose access tokens expire together, so the tests wait once. The third signs
  // in through a proxy that counts refreshes and answers them slowly, so that CLI processes
  // started together all find the token expired while the first refresh is under way.
  const h = {
    refresh: tempDir('aerugo-cli-refresh-'),
    retry: tempDir('aerugo-cli-retry-'),
    parallel: tempDir('aerugo-cli-parallel-'),
  };
  let issued: Record<keyof typeof h, Json>;
  let proxy: { url: string; refreshes: number; close: () => Promise<void> };

  beforeAll(async () => {
    proxy = await slowRefreshProxy(url, 2000);
    await Promise.all(
      (Object.keys(h) as (keyof typeof h)[]).map((k) =>
        okRun(['login', k === 'parallel' ? proxy.url : url, '-u', 'bob', '--password-stdin'], {
          home: h[k],
          stdin: PASSWORD.bob,
        }),
      ),
    );
    issued = {
      refresh: contextOf(h.refresh),
      retry: contextOf(h.retry),
      parallel: contextOf(h.parallel),
    };
    const last = Math.max(...Object.values(issued).map((c) => Date.parse(c.accessTokenExpiresAt)));
    await waitUntil('the access tokens to expire', () => Date.now() > last + 500);
  }, 120_000);

  afterAll(async () => {
    await proxy?.close();
  });

  it('refreshes an expired access token transparently, rotating the refresh token', async () => {
    const first = issued.refresh;
    expect((await okRun(['whoami'], { home: h.refresh })).trim()).toBe('bob');
    const second = contextOf(h.refresh);
    expect(second.refreshToken).not.toBe(first.refreshToken);
    expect(second.accessToken).not.toBe(first.accessToken);
    expect(Date.parse(second.accessTokenExpiresAt)).toBeGreaterThan(Date.now());
    // The old refresh token was used up: the server refuses it now.
    const reuse = await api(url, 'POST', '/auth/refresh', {
      body: { refreshToken: first.refreshToken },
    });
    expect(reuse.status).toBe(401);
  });

  it('refreshes and retries once when the server refuses an access token it still thought valid', async () => {
    // Make the CLI believe the expired token lasts another hour (a skewed clock, say).
    const cfg = configOf(h.retry);
    cfg.contexts[cfg.current].accessTokenExpiresAt = new Date(Date.now() + 3600_000).toISOString();
    writeFileSync(join(h.retry, 'config', 'aerugo', 'config.json'), JSON.stringify(cfg));
    const r = await aerugo(['--verbose', 'whoami'], { home: h.retry });
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe('bob');
    expect(r.stderr.match(/< 401/g)).toHaveLength(1);
    expect(r.stderr).toContain('/api/v1/auth/refresh');
    expect(contextOf(h.retry).refreshToken).not.toBe(issued.retry.refreshToken);
  });

  it('refreshes once for CLI processes running at once (a reused refresh token would end the session)', async () => {
    const runs = await Promise.all(
      Array.from({ length: 4 }, () => aerugo(['whoami'], { home: h.parallel })),
    );
    expect(runs.map((r) => [r.code, r.stdout.trim(), r.stderr])).toEqual(
      Array(4).fill([0, 'bob', '']),
    );
    expect(proxy.refreshes).toBe(1);
    expect((await okRun(['whoami'], { home: h.parallel })).trim()).toBe('bob');
  });

  it('uses AERUGO_SERVER with AERUGO_TOKEN or AERUGO_API_KEY, with no configuration file', async () => {
    const bob = await login(url, 'bob', PASSWORD.bob);
    const empty = tempDir('aerugo-cli-empty-');
    const env = (extra: Record<string, string>) => ({
      home: empty,
      env: { AERUGO_SERVER: url, ...extra },
    });
    const port = await freePort();
    const [token, badToken, noServer, unreachable] = await Promise.all([
      okRun(['whoami'], env({ AERUGO_TOKEN: bob.accessToken })),
      fails(3, ['whoami'], env({ AERUGO_TOKEN: 'not-a-token' })),
      fails(2, ['repo', 'ls'], { home: empty }),
      fails(1, ['repo', 'ls'], { env: { AERUGO_SERVER: `http://127.0.0.1:${port}` } }),
    ]);
    expect(token.trim()).toBe('bob');
    expect(badToken).toMatch(/check AERUGO_TOKEN/);
    expect(noServer).toMatch(/no server/);
    expect(unreachable.trim()).toBe(
      `aerugo: cannot reach http://127.0.0.1:${port}: connection refused (ECONNREFUSED)`,
    );
    expect(() => configOf(empty)).toThrow(); // nothing written
  });

  it("never sends a context's credentials to the server AERUGO_SERVER names", async () => {
    const seen: IncomingHttpHeaders[] = [];
    const spy = createServer((req, res) => {
      seen.push(req.headers);
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ statusCode: 401, message: 'who are you?' }));
    });
    const port = await freePort();
    await new Promise<void>((r) => spy.listen(port, '127.0.0.1', r));
    try {
      const elsewhere = { ...as('alice'), env: { AERUGO_SERVER: `http://127.0.0.1:${port}` } };
      const [whoami, list] = await Promise.all([
        fails(3, ['whoami'], elsewhere),
        fails(3, ['repo', 'ls'], elsewhere),
      ]);
      expect(whoami).toMatch(/not logged in/);
      expect(list).toContain('who are you?');
      expect(seen.length).toBeGreaterThan(0);
      for (const headers of seen) {
        expect(headers.authorization).toBeUndefined();
        expect(headers['x-api-key']).toBeUndefined();
      }
    } finally {
      await new Promise((r) => spy.close(r));
    }
  });

  it('keeps named contexts for several servers or users', async () => {
    await okRun(['--context', 'bob-here', 'login', url, '-u', 'bob', '--password-stdin'], {
      ...as('admin'),
      stdin: PASSWORD.bob,
    });
    const [contexts, current, named, fromEnv, unknown] = await Promise.all([
      json(['context', 'ls'], as('admin')),
      okRun(['whoami'], as('admin')),
      okRun(['--context', host, 'whoami'], as('admin')),
      okRun(['whoami'], { ...as('admin'), env: { AERUGO_CONTEXT: host } }),
      fails(2, ['--context', 'nope', 'whoami'], as('admin')),
    ]);
    expect(contexts).toEqual([
      { name: host, current: false, server: url, username: ADMIN.username, auth: 'session' },
      { name: 'bob-here', current: true, server: url, username: 'bob', auth: 'session' },
    ]);
    expect(current.trim()).toBe('bob');
    expect(named.trim()).toBe(ADMIN.username);
    expect(fromEnv.trim()).toBe(ADMIN.username);
    expect(unknown).toMatch(/no context "nope"/);
    await okRun(['context', 'use', host], as('admin'));
    expect((await okRun(['whoami'], as('admin'))).trim()).toBe(ADMIN.username);
    const bobCtx = configOf(homes.admin).contexts['bob-here'];
    expect(await json(['context', 'rm', 'bob-here'], as('admin'))).toEqual({
      context: 'bob-here',
      removed: true,
      sessionEnded: true,
    });
    const refresh = await api(url, 'POST', '/auth/refresh', {
      body: { refreshToken: bobCtx.refreshToken },
    });
    expect(refresh.status).toBe(401);
    expect(Object.keys(configOf(homes.admin).contexts)).toEqual([host]);
  });

  it('logout ends the session on the server and forgets the tokens', async () => {
    const home = h.retry;
    const { refreshToken } = contextOf(home);
    expect(await json(['logout'], { home })).toEqual({
      context: host,
      server: url,
      sessionEnded: true,
    });
    const refresh = await api(url, 'POST', '/auth/refresh', { body: { refreshToken } });
    expect(refresh.status).toBe(401);
    expect(contextOf(home)).toEqual({ server: url, username: 'bob' });
    expect(await fails(3, ['whoami'], { home })).toMatch(/not logged in/);
    // Signing in again reuses the context's server.
    await okRun(['login', '-u', 'bob', '--password-stdin'], { home, stdin: PASSWORD.bob });
    expect((await okRun(['whoami'], { home })).trim()).toBe('bob');
  });
});

describe('output', () => {
  it('--verbose shows the HTTP exchange without passwords, tokens or keys', async () => {
    const home = tempDir('aerugo-cli-verbose-');
    const loginRun = await aerugo(['--verbose', 'login', url, '-u', 'bob', '--password-stdin'], {
      home,
      stdin: PASSWORD.bob,
    });
    expect(loginRun.code).toBe(0);
    expect(loginRun.stderr).toMatch(/> POST http:\/\/127\.0\.0\.1:\d+\/api\/v1\/auth\/login/);
    expect(loginRun.stderr).toMatch(/< 200 OK/);
    expect(loginRun.stderr).toContain('"password":"[redacted]"');
    const ctx = contextOf(home);
    const keyRun = await aerugo(['--verbose', 'apikey', 'create', 'verbose-test'], { home });
    const key = keyRun.stdout.trim();
    expect(key).toMatch(/^ak_/);
    expect(keyRun.stderr).toContain('authorization: [redacted]');
    for (const secret of [PASSWORD.bob, ctx.refreshToken, ctx.accessToken, key]) {
      expect(loginRun.stderr).not.toContain(secret);
      expect(keyRun.stderr).not.toContain(secret);
    }
    await okRun(['apikey', 'revoke', 'verbose-test'], { home });
  });

  it('colors only a terminal, and never with NO_COLOR', async () => {
    const inTerminal = (extra: Record<string, string>) =>
      new Promise<string>((resolve, reject) => {
        const env = { ...cliEnv({ ...as('alice'), env: extra }), TERM: 'xterm' };
        execFile(
          'script',
          ['-qec', `${process.execPath} ${BIN} repo ls alice --limit 2`, '/dev/null'],
          { env },
          (err, stdout) => (err ? reject(err) : resolve(stdout)),
        );
      });
    const [piped, colored, plain] = await Promise.all([
      okRun(['repo', 'ls', 'alice', '--limit', '2'], as('alice')),
      inTerminal({}),
      inTerminal({ NO_COLOR: '1' }),
    ]);
    // eslint-disable-next-line no-control-regex
    const SGR = /\x1b\[[0-9;]*m/;
    expect(piped).toMatch(/NAME\s+VISIBILITY/);
    expect(piped).not.toMatch(SGR);
    // eslint-disable-next-line no-control-regex
    expect(colored).toMatch(/\x1b\[1mNAME/);
    expect(plain).toMatch(/NAME\s+VISIBILITY/);
    expect(plain).not.toMatch(SGR);
  });

  it('prints shell completion for bash and zsh', async () => {
    const [bash, zsh, fish] = await Promise.all([
      okRun(['completion', 'bash']),
      okRun(['completion', 'zsh']),
      fails(2, ['completion', 'fish']),
    ]);
    expect(bash).toContain('complete -F _aerugo_complete aerugo');
    expect(zsh).toMatch(/^#compdef aerugo/);
    expect(fish).toMatch(/bash, zsh/);
  });
});
