import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, statSync, writeFileSync, chmodSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveTarget, tokenUsable } from '../../cli/src/api.js';
import { parseExpiry } from '../../cli/src/commands/account.js';
import { manifestKind } from '../../cli/src/commands/repos.js';
import {
  ConfigStore,
  configDir,
  contextNameFor,
  normalizeServer,
  sameServer,
  type ConfigFile,
} from '../../cli/src/config.js';
import {
  apiError,
  CliError,
  EXIT,
  exitCodeFor,
  serverCode,
  serverMessage,
} from '../../cli/src/errors.js';
import { parseRepoRef } from '../../cli/src/names.js';
import {
  colorEnabled,
  formatAge,
  formatBytes,
  formatDate,
  Output,
  renderTable,
  shortDigest,
} from '../../cli/src/output.js';
import { collectPages, parseLimit, truncationNote } from '../../cli/src/paging.js';
import { secretFrom } from '../../cli/src/prompt.js';
import { REDACTED, redactBody, redactHeader, redactJson } from '../../cli/src/redact.js';

// The CLI's own rules: exit codes, configuration file, server and name parsing, output
// formatting, redaction, paging. The commands themselves are covered by test/e2e/cli.spec.ts.

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'aerugo-cli-unit-'));
}

class Sink {
  text = '';
  constructor(readonly isTTY = false) {}
  write(chunk: string) {
    this.text += chunk;
    return true;
  }
}

describe('exit codes', () => {
  it.each([
    [400, undefined, EXIT.usage],
    [422, undefined, EXIT.usage],
    [401, undefined, EXIT.auth],
    [403, undefined, EXIT.denied],
    [404, undefined, EXIT.notFound],
    [409, undefined, EXIT.conflict],
    [429, undefined, EXIT.other],
    [500, undefined, EXIT.other],
    [503, undefined, EXIT.other],
    // The code wins when it is one the CLI knows…
    [409, 'NAME_TAKEN', EXIT.conflict],
    [409, 'NAMESPACE_NOT_EMPTY', EXIT.conflict],
    [403, 'REGISTRATION_DISABLED', EXIT.denied],
    [400, 'NOT_FOUND', EXIT.notFound],
    // …and the status decides for codes it does not know.
    [409, 'SOME_FUTURE_CODE', EXIT.conflict],
    [404, 'SOME_FUTURE_CODE', EXIT.notFound],
    [500, 'INTERNAL_ERROR', EXIT.other],
  ])('%i with code %s → %i', (status, code, exit) => {
    expect(exitCodeFor(status, code)).toBe(exit);
  });

  it('never looks at the message', () => {
    const a = apiError(404, { statusCode: 404, message: 'conflict: already exists' });
    expect(a.exitCode).toBe(EXIT.notFound);
    const b = apiError(409, { statusCode: 409, message: 'not found' });
    expect(b.exitCode).toBe(EXIT.conflict);
  });

  it("carries the server's message, status and code", () => {
    const e = apiError(409, {
      statusCode: 409,
      message: 'the name "acme" is already taken',
      error: 'Conflict',
      code: 'NAME_TAKEN',
    });
    expect(e).toBeInstanceOf(CliError);
    expect(e.message).toBe('the name "acme" is already taken');
    expect(e.details).toEqual({ status: 409, code: 'NAME_TAKEN' });
  });

  it.each([
    [
      { message: ['name must be lower-case', 'level must be one of read, write, admin'] },
      400,
      'name must be lower-case; level must be one of read, write, admin',
    ],
    [{ message: 'repository "a/b" not found' }, 404, 'repository "a/b" not found'],
    [{ error: 'invalid_grant', error_description: 'bad password' }, 400, 'bad password'],
    [{ error: 'Bad Gateway' }, 502, 'Bad Gateway'],
    ['upstream timed out', 504, 'upstream timed out'],
    ['<html><body>nginx</body></html>', 502, 'the server answered 502'],
    [undefined, 500, 'the server answered 500'],
  ])('message of %j (%i)', (body, status, message) => {
    expect(serverMessage(body, status)).toBe(message);
  });

  it('reads the code only when it is a non-empty string', () => {
    expect(serverCode({ code: 'CONFLICT' })).toBe('CONFLICT');
    expect(serverCode({ code: 7 })).toBeUndefined();
    expect(serverCode({ code: '' })).toBeUndefined();
    expect(serverCode('CONFLICT')).toBeUndefined();
  });
});

describe('configuration file', () => {
  it('lives in $XDG_CONFIG_HOME/aerugo, else ~/.config/aerugo; a relative XDG_CONFIG_HOME is ignored', () => {
    expect(configDir({ XDG_CONFIG_HOME: '/x/cfg', HOME: '/home/a' })).toBe('/x/cfg/aerugo');
    expect(configDir({ HOME: '/home/a' })).toBe('/home/a/.config/aerugo');
    expect(configDir({ XDG_CONFIG_HOME: 'rel/cfg', HOME: '/home/a' })).toBe(
      '/home/a/.config/aerugo',
    );
    expect(configDir({ XDG_CONFIG_HOME: '', HOME: '/home/a' })).toBe('/home/a/.config/aerugo');
  });

  it('is written with mode 0600 in a folder with mode 0700, and read back', () => {
    const dir = join(tmp(), 'nested', 'aerugo');
    const store = new ConfigStore(dir);
    expect(store.load()).toEqual({ contexts: {} });
    const cfg: ConfigFile = {
      current: 'a',
      contexts: { a: { server: 'https://r.example.com', username: 'alice', refreshToken: 'rt' } },
    };
    store.save(cfg);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(store.path).mode & 0o777).toBe(0o600);
    expect(store.load()).toEqual(cfg);
  });

  it('tightens a file and a folder that others could read', () => {
    const dir = join(tmp(), 'aerugo');
    const store = new ConfigStore(dir);
    store.save({ contexts: {} });
    chmodSync(store.path, 0o644);
    chmodSync(dir, 0o755);
    store.load();
    expect(statSync(store.path).mode & 0o777).toBe(0o600);
    store.save({ contexts: {} });
    expect(statSync(dir).mode & 0o777).toBe(0o700);
  });

  it('names a broken file instead of overwriting it', () => {
    const store = new ConfigStore(join(tmp(), 'aerugo'));
    store.save({ contexts: {} });
    writeFileSync(store.path, '{ not json');
    expect(() => store.load()).toThrow(/config\.json is not valid JSON/);
    writeFileSync(store.path, '[1,2]');
    expect(() => store.load()).toThrow(/not an aerugo configuration file/);
  });

  it('drops contexts without a server and keeps the rest', () => {
    const store = new ConfigStore(join(tmp(), 'aerugo'));
    store.save({ contexts: {} });
    writeFileSync(
      store.path,
      JSON.stringify({
        current: 'a',
        contexts: { a: { server: 'http://x' }, b: { user: 1 }, c: 3 },
      }),
    );
    expect(store.load()).toEqual({ current: 'a', contexts: { a: { server: 'http://x' } } });
  });

  it('applies concurrent updates one after the other (none is lost)', async () => {
    const store = new ConfigStore(join(tmp(), 'aerugo'));
    await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        store.update(async (cfg) => {
          const seen = Object.keys(cfg.contexts).length;
          await new Promise((r) => setTimeout(r, 5)); // another update would interleave here
          cfg.contexts[`c${i}`] = { server: `http://h${i}`, username: String(seen) };
        }),
      ),
    );
    const cfg = store.load();
    expect(Object.keys(cfg.contexts).sort()).toEqual(
      Array.from({ length: 8 }, (_, i) => `c${i}`).sort(),
    );
    // Each update saw all the earlier ones: the counts are 0…7, each once.
    expect(
      Object.values(cfg.contexts)
        .map((c) => Number(c.username))
        .sort(),
    ).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('takes over a lock left by a process that died, and keeps a fresh one', async () => {
    const store = new ConfigStore(join(tmp(), 'aerugo'));
    store.save({ contexts: {} });
    const lock = `${store.path}.lock`;
    writeFileSync(lock, '');
    const old = new Date(Date.now() - 60_000);
    utimesSync(lock, old, old);
    await store.update((cfg) => {
      cfg.current = 'x';
    });
    expect(store.load().current).toBe('x');
    expect(() => readFileSync(lock)).toThrow(); // released
  });

  it('leaves the file unchanged when an update fails', async () => {
    const store = new ConfigStore(join(tmp(), 'aerugo'));
    store.save({ current: 'a', contexts: { a: { server: 'http://a' } } });
    await expect(
      store.update((cfg) => {
        delete cfg.contexts.a;
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(store.load().contexts.a).toEqual({ server: 'http://a' });
  });
});

describe('server URLs', () => {
  it.each([
    ['localhost:8080', 'http://localhost:8080'],
    ['127.0.0.1:8080', 'http://127.0.0.1:8080'],
    ['[::1]:8080', 'http://[::1]:8080'],
    ['registry.example.com', 'https://registry.example.com'],
    ['registry.example.com:5000/', 'https://registry.example.com:5000'],
    ['http://registry.example.com/api/v1/', 'http://registry.example.com'],
    ['https://example.com/aerugo/', 'https://example.com/aerugo'],
    ['HTTPS://Registry.Example.com', 'https://registry.example.com'],
  ])('%s → %s', (input, url) => {
    expect(normalizeServer(input)).toBe(url);
  });

  it.each(['', 'ftp://example.com', 'https://user:pw@example.com', 'http://[bad'])(
    'refuses %j',
    (input) => {
      expect(() => normalizeServer(input)).toThrow(CliError);
    },
  );

  it('names contexts by host and port, and compares servers as normalized', () => {
    expect(contextNameFor('http://localhost:8080')).toBe('localhost:8080');
    expect(contextNameFor('https://r.example.com')).toBe('r.example.com');
    expect(sameServer('localhost:8080', 'http://localhost:8080/')).toBe(true);
    expect(sameServer('https://a.example.com', 'http://a.example.com')).toBe(false);
  });
});

describe('which server and credentials a command uses', () => {
  const cfg: ConfigFile = {
    current: 'prod',
    contexts: {
      prod: { server: 'https://prod.example.com', username: 'alice', refreshToken: 'rt1' },
      ci: { server: 'https://ci.example.com', username: 'bot', apiKey: 'ak_ci' },
      off: { server: 'https://off.example.com', username: 'carol' },
    },
  };

  it('uses the current context, or the one --context or AERUGO_CONTEXT names', () => {
    expect(resolveTarget(cfg, {}, {})).toMatchObject({
      server: 'https://prod.example.com',
      contextName: 'prod',
      auth: { kind: 'session' },
    });
    expect(resolveTarget(cfg, { context: 'ci' }, {})).toMatchObject({
      contextName: 'ci',
      auth: { kind: 'api-key', key: 'ak_ci', from: 'context' },
    });
    expect(resolveTarget(cfg, {}, { AERUGO_CONTEXT: 'off' })).toMatchObject({
      contextName: 'off',
      auth: { kind: 'none' },
    });
    expect(() => resolveTarget(cfg, { context: 'nope' }, {})).toThrow(/no context "nope"/);
  });

  it('lets AERUGO_API_KEY and AERUGO_TOKEN replace the credentials (the key first)', () => {
    expect(resolveTarget(cfg, {}, { AERUGO_TOKEN: 'jwt' })?.auth).toEqual({
      kind: 'token',
      token: 'jwt',
    });
    expect(resolveTarget(cfg, {}, { AERUGO_TOKEN: 'jwt', AERUGO_API_KEY: 'ak_x' })?.auth).toEqual({
      kind: 'api-key',
      key: 'ak_x',
      from: 'env',
    });
  });

  it("never sends a context's credentials to the server AERUGO_SERVER names", () => {
    const t = resolveTarget(cfg, {}, { AERUGO_SERVER: 'https://evil.example.com' });
    expect(t).toEqual({ server: 'https://evil.example.com', auth: { kind: 'none' } });
    const named = resolveTarget(cfg, { context: 'prod' }, { AERUGO_SERVER: 'ci.example.com' });
    expect(named).toEqual({ server: 'https://ci.example.com', auth: { kind: 'none' } });
  });

  it('uses the context signed in to the server AERUGO_SERVER names', () => {
    expect(resolveTarget(cfg, {}, { AERUGO_SERVER: 'https://ci.example.com/' })).toMatchObject({
      server: 'https://ci.example.com',
      contextName: 'ci',
      auth: { kind: 'api-key', key: 'ak_ci' },
    });
    // Also when no context is current.
    const noCurrent = { contexts: cfg.contexts };
    expect(resolveTarget(noCurrent, {}, { AERUGO_SERVER: 'ci.example.com' })).toMatchObject({
      contextName: 'ci',
      auth: { kind: 'api-key', key: 'ak_ci' },
    });
  });

  it('needs a server from somewhere', () => {
    expect(() => resolveTarget({ contexts: {} }, {}, {})).toThrow(/no server/);
    expect(resolveTarget({ contexts: {} }, {}, {}, false)).toBeUndefined();
    expect(resolveTarget({ contexts: {} }, {}, { AERUGO_SERVER: 'localhost:1' })).toEqual({
      server: 'http://localhost:1',
      auth: { kind: 'none' },
    });
  });
});

describe('access token lifetime', () => {
  const jwt = (lifetime: number) =>
    `x.${Buffer.from(JSON.stringify({ iat: 1000, exp: 1000 + lifetime })).toString('base64url')}.y`;
  const now = Date.parse('2030-01-01T00:00:00Z');
  const at = (ms: number) => new Date(now + ms).toISOString();

  it.each([
    [900, 10_000, true],
    [900, 4_000, false], // within 5 s of expiry
    [4, 1_000, true], // a 4 s token: a fifth of its life (0.8 s) as margin
    [4, 500, false],
    [900, -1, false],
  ])('a %i s token expiring in %i ms is usable: %s', (lifetime, inMs, usable) => {
    expect(
      tokenUsable({ server: 's', accessToken: jwt(lifetime), accessTokenExpiresAt: at(inMs) }, now),
    ).toBe(usable);
  });

  it('is not usable without a token or an expiry', () => {
    expect(tokenUsable({ server: 's', accessTokenExpiresAt: at(60_000) }, now)).toBe(false);
    expect(tokenUsable({ server: 's', accessToken: jwt(900) }, now)).toBe(false);
    expect(
      tokenUsable({ server: 's', accessToken: 'opaque', accessTokenExpiresAt: at(6000) }, now),
    ).toBe(true);
  });
});

describe('repository references', () => {
  it.each([
    ['alice/app', { namespace: 'alice', name: 'app', full: 'alice/app' }],
    [
      'Acme/Team/App:v1.2',
      { namespace: 'acme', name: 'team/app', full: 'acme/team/app', tag: 'v1.2' },
    ],
    ['acme/app:Latest_', { namespace: 'acme', name: 'app', full: 'acme/app', tag: 'Latest_' }],
  ])('%s', (input, ref) => {
    expect(parseRepoRef(input, { tag: 'optional' })).toEqual(ref);
  });

  type TagRule = 'forbidden' | 'optional' | 'required';
  it.each<[string, TagRule, RegExp]>([
    ['app', 'optional', /NAMESPACE\/NAME/],
    ['alice/', 'optional', /not a repository name/],
    ['alice/a b', 'optional', /not a repository name/],
    ['alice/app:v1', 'forbidden', /not a tag/],
    ['alice/app', 'required', /name the tag/],
    ['alice/app:-x', 'optional', /not a valid tag/],
    ['alice/app@sha256:abc', 'optional', /digests are not accepted/],
  ])('refuses %s (tag %s)', (input, tag, message) => {
    expect(() => parseRepoRef(input, { tag })).toThrow(message);
    try {
      parseRepoRef(input, { tag });
    } catch (e) {
      expect((e as CliError).exitCode).toBe(EXIT.usage);
    }
  });
});

describe('output', () => {
  it.each([
    [{ isTTY: true }, {}, true],
    [{ isTTY: false }, {}, false],
    [{}, {}, false],
    [{ isTTY: true }, { NO_COLOR: '1' }, false],
    [{ isTTY: true }, { NO_COLOR: '' }, true], // no-color.org: only a non-empty value counts
    [{ isTTY: true }, { TERM: 'dumb' }, false],
    [{ isTTY: false }, { CI: 'true', FORCE_COLOR: '1' }, false],
  ])('colors on %j with %j: %s', (stream, env, enabled) => {
    expect(colorEnabled(stream, env)).toBe(enabled);
  });

  it.each([
    [0, '0 B'],
    [1023, '1023 B'],
    [1024, '1 KiB'],
    [1536, '1.5 KiB'],
    [10 * 1024 * 1024 + 300 * 1024, '10.3 MiB'],
    [123 * 1024 ** 3, '123 GiB'],
    [-1, '-'],
  ])('%i bytes → %s', (n, text) => {
    expect(formatBytes(n)).toBe(text);
  });

  it.each([
    [10, 'just now'],
    [50, '1 minute ago'],
    [5 * 60, '5 minutes ago'],
    [3 * 3600, '3 hours ago'],
    [86400, '1 day ago'],
    [40 * 86400, '1 month ago'],
    [800 * 86400, '2 years ago'],
    [-3 * 86400, 'in 3 days'],
  ])('%i s ago → %s', (s, text) => {
    const now = Date.parse('2030-06-01T12:00:00Z');
    expect(formatAge(new Date(now - s * 1000).toISOString(), now)).toBe(text);
  });

  it('formats dates, digests and missing values', () => {
    expect(formatAge(null)).toBe('-');
    expect(formatDate('2030-06-01T12:34:56.789Z')).toBe('2030-06-01 12:34 UTC');
    expect(formatDate(null)).toBe('-');
    const d = `sha256:${'0123456789abcdef'.repeat(4)}`;
    expect(shortDigest(d)).toBe('sha256:0123456789ab');
    expect(shortDigest(d, true)).toBe(d);
    expect(manifestKind('application/vnd.oci.image.index.v1+json')).toBe('index');
    expect(manifestKind('application/vnd.docker.distribution.manifest.v2+json')).toBe('image');
    expect(manifestKind('application/x-other')).toBe('application/x-other');
  });

  it('renders borderless tables with aligned columns and no trailing blanks', () => {
    const out = new Output(false, false, new Sink(false), new Sink(false), {});
    const text = renderTable(
      ['NAME', 'SIZE'],
      [
        ['alice/app', '1 KiB'],
        ['b', '22 MiB'],
      ],
      out.c,
    );
    expect(text.split('\n')).toEqual(['NAME       SIZE', 'alice/app  1 KiB', 'b          22 MiB']);
    expect(text).not.toMatch(/\x1b\[/); // eslint-disable-line no-control-regex
  });

  it('colors only a terminal', () => {
    const tty = new Sink(true);
    new Output(false, false, tty, new Sink(), {}).table(['A'], [['x']]);
    expect(tty.text).toMatch(/\x1b\[1m/); // eslint-disable-line no-control-regex
    const pipe = new Sink(false);
    new Output(false, false, pipe, new Sink(), {}).table(['A'], [['x']]);
    expect(pipe.text).toBe('A\nx\n');
    const noColor = new Sink(true);
    new Output(false, false, noColor, new Sink(), { NO_COLOR: '1' }).table(['A'], [['x']]);
    expect(noColor.text).toBe('A\nx\n');
  });

  it('prints errors as one line, or as one JSON line with --json', () => {
    const err = new Sink();
    new Output(false, false, new Sink(), err, {}).error(
      new CliError('no such\nrepository', EXIT.notFound, { status: 404, code: 'NOT_FOUND' }),
    );
    expect(err.text).toBe('aerugo: no such repository\n');
    const jerr = new Sink();
    new Output(true, false, new Sink(), jerr, {}).error(
      new CliError('no such repository', EXIT.notFound, { status: 404, code: 'NOT_FOUND' }),
    );
    expect(jerr.text.endsWith('\n')).toBe(true);
    expect(JSON.parse(jerr.text)).toEqual({
      error: { message: 'no such repository', exitCode: 4, status: 404, code: 'NOT_FOUND' },
    });
  });

  it('keeps data on stdout and notes on stderr', () => {
    const so = new Sink();
    const se = new Sink();
    const out = new Output(true, false, so, se, {});
    out.data([{ a: 1 }]);
    out.done('human text');
    out.note('2 of 3 shown');
    expect(JSON.parse(so.text)).toEqual([{ a: 1 }]);
    expect(se.text).toBe('2 of 3 shown\n');
  });
});

describe('--verbose redaction', () => {
  it('hides credential headers', () => {
    expect(redactHeader('Authorization', 'Bearer eyJ…')).toBe(REDACTED);
    expect(redactHeader('x-api-key', 'ak_123')).toBe(REDACTED);
    expect(redactHeader('set-cookie', 'a=b')).toBe(REDACTED);
    expect(redactHeader('content-type', 'application/json')).toBe('application/json');
  });

  it('hides secret fields at any depth, and keeps the rest', () => {
    expect(
      redactJson({
        username: 'alice',
        password: 'pw',
        nested: [{ refreshToken: 'rt', accessToken: 'at', key: 'ak_1', name: 'ci' }],
        newPassword: 'n',
        currentPassword: 'c',
        token: 't',
        access_token: 'a',
        refresh_token: 'r',
        expiresAt: null,
      }),
    ).toEqual({
      username: 'alice',
      password: REDACTED,
      nested: [{ refreshToken: REDACTED, accessToken: REDACTED, key: REDACTED, name: 'ci' }],
      newPassword: REDACTED,
      currentPassword: REDACTED,
      token: REDACTED,
      access_token: REDACTED,
      refresh_token: REDACTED,
      expiresAt: null,
    });
  });

  it('summarizes form bodies and cuts long ones', () => {
    expect(redactBody('grant_type=password&password=pw', 'application/x-www-form-urlencoded')).toBe(
      '[form body, 31 bytes]',
    );
    expect(redactBody('{"password":"pw"}', 'application/json')).toBe('{"password":"[redacted]"}');
    expect(redactBody('x'.repeat(3000), 'text/plain', 10)).toBe('xxxxxxxxxx… (3000 characters)');
  });
});

describe('paging', () => {
  const source = (total: number, shrinkTo?: number) => {
    const calls: [number, number][] = [];
    const fetchPage = async (page: number, perPage: number) => {
      calls.push([page, perPage]);
      const size = page > 1 && shrinkTo !== undefined ? shrinkTo : total;
      const items = Array.from({ length: size }, (_, i) => i).slice(
        (page - 1) * perPage,
        page * perPage,
      );
      return { items, total: size };
    };
    return { calls, fetchPage };
  };

  it('follows pages of 100 until everything is read (--limit 0)', async () => {
    const s = source(250);
    const r = await collectPages(s.fetchPage, 0);
    expect(r.items).toHaveLength(250);
    expect(r.items[249]).toBe(249);
    expect(r.total).toBe(250);
    expect(s.calls).toEqual([
      [1, 100],
      [2, 100],
      [3, 100],
    ]);
  });

  it('stops at the limit, asking for no more than it needs', async () => {
    const s = source(250);
    expect((await collectPages(s.fetchPage, 30)).items).toHaveLength(30);
    expect(s.calls).toEqual([[1, 30]]);
    const t = source(250);
    const r = await collectPages(t.fetchPage, 150);
    expect(r.items).toHaveLength(150);
    expect(r.total).toBe(250);
    expect(t.calls).toEqual([
      [1, 100],
      [2, 100],
    ]);
  });

  it('ends on an exact last page, an empty list, and a list that shrinks meanwhile', async () => {
    const exact = source(200);
    expect((await collectPages(exact.fetchPage, 0)).items).toHaveLength(200);
    expect(exact.calls).toHaveLength(2);
    expect((await collectPages(source(0).fetchPage, 0)).items).toEqual([]);
    const shrinking = source(150, 100);
    const r = await collectPages(shrinking.fetchPage, 0);
    expect(shrinking.calls).toHaveLength(2);
    expect(r.items).toHaveLength(100);
  });

  it('parses --limit and words the truncation note', () => {
    expect(parseLimit('0')).toBe(0);
    expect(parseLimit(' 25 ')).toBe(25);
    expect(() => parseLimit('-1')).toThrow(/whole number/);
    expect(() => parseLimit('ten')).toThrow(/whole number/);
    expect(truncationNote(10, 10)).toBeUndefined();
    expect(truncationNote(10, 12)).toBe('10 of 12 shown; --limit 0 shows all');
  });
});

describe('secrets and expiries from the command line', () => {
  it('drops one trailing line break from a secret on stdin, nothing else', () => {
    expect(secretFrom('pw\n', 'password')).toBe('pw');
    expect(secretFrom('pw\r\n', 'password')).toBe('pw');
    expect(secretFrom(' pw ', 'password')).toBe(' pw ');
    expect(() => secretFrom('\n', 'password')).toThrow(/no password/);
    expect(() => secretFrom('a\nb\n', 'password')).toThrow(/several lines/);
  });

  it('takes dates and lifetimes for --expires', () => {
    const now = Date.parse('2030-01-01T00:00:00Z');
    expect(parseExpiry('90d', now)).toBe('2030-04-01T00:00:00.000Z');
    expect(parseExpiry('12h', now)).toBe('2030-01-01T12:00:00.000Z');
    expect(parseExpiry('2031-02-03', now)).toBe('2031-02-03T00:00:00.000Z');
    expect(parseExpiry('2031-02-03T04:05:06Z', now)).toBe('2031-02-03T04:05:06.000Z');
    expect(() => parseExpiry('2020-01-01', now)).toThrow(/future/);
    expect(() => parseExpiry('0d', now)).toThrow(/future/);
    expect(() => parseExpiry('soon', now)).toThrow(/a date/);
  });
});
