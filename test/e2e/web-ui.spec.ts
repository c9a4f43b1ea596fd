import { AxeBuilder } from '@axe-core/playwright';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { TEST_ADMIN } from '../support/registry.js';
import { startServer, tempDir, type TestServer } from '../support/server.js';
import { describeIfSkopeo, mkimage, skopeo } from '../support/skopeo.js';
import { PROJECT_ROOT } from '../support/test-env.js';
import { api, ok, type Json } from './identity-support.js';

// The web UI in a real browser (Debian's chromium driven by playwright-core) against a real
// server (dist/, with the UI built by `npm run build`) holding images pushed by skopeo. Every
// page visited is checked by axe-core (no serious or critical violation) and photographed into
// test-results/web-ui/ for review. Layers are gzipped so that skopeo pushes them unchanged.

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SHOTS = join(PROJECT_ROOT, 'test-results', 'web-ui');

function chromiumAvailable(): boolean {
  if (existsSync(CHROMIUM)) return true;
  if (process.env.CI === 'true')
    throw new Error(`chromium is required in CI (apt-get install -y chromium): no ${CHROMIUM}`);
  console.warn(`no ${CHROMIUM}: skipping the browser tests (apt-get install -y chromium)`);
  return false;
}

const run = describeIfSkopeo() && chromiumAvailable() ? describe : describe.skip;

const ALICE = { username: 'alice', password: 'alice-password-1' };
const BOB = { username: 'bob', password: 'bob-password-1' };
const ADMIN_AUTH = { basic: [TEST_ADMIN.username, TEST_ADMIN.password] as [string, string] };

interface PushedImage {
  digest: string;
  /** Bytes the registry reports: manifest, config and layers. */
  size: number;
  layers: { digest: string; size: number }[];
}

/** What an OCI layout written by mkimage holds under `tag` (an image, not an index). */
function readLayout(dir: string, tag: string): PushedImage {
  const blob = (digest: string) => readFileSync(join(dir, 'blobs', ...digest.split(':')));
  const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as Json;
  const entry = index.manifests.find(
    (m: Json) => m.annotations?.['org.opencontainers.image.ref.name'] === tag,
  );
  const raw = blob(entry.digest);
  const manifest = JSON.parse(raw.toString('utf8')) as Json;
  const layers = (manifest.layers as Json[]).map((l) => ({ digest: l.digest, size: l.size }));
  return {
    digest: entry.digest,
    size: raw.length + manifest.config.size + layers.reduce((n, l) => n + l.size, 0),
    layers,
  };
}

run('web UI in a browser', () => {
  let server: TestServer;
  let host: string;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  const layout = tempDir('aerugo-web-oci-');
  let v1: PushedImage;
  let v2: PushedImage;
  const axeFindings: string[] = [];

  async function push(creds: string, tag: string, repo: string, all = false): Promise<void> {
    await skopeo(
      'copy',
      ...(all ? ['--all'] : []),
      '--dest-tls-verify=false',
      '--dest-creds',
      creds,
      `oci:${layout}:${tag}`,
      `docker://${host}/${repo}`,
    );
  }

  /** A fresh browser session (its own storage) at the given viewport and system theme. */
  async function newPage(
    viewport = { width: 1280, height: 800 },
    colorScheme: 'light' | 'dark' = 'light',
  ): Promise<Page> {
    const context = await browser.newContext({ viewport, colorScheme, baseURL: server.url });
    contexts.push(context);
    const page = await context.newPage();
    page.setDefaultTimeout(20_000);
    page.on('pageerror', (e) => console.error(`page error: ${e.message}`));
    return page;
  }

  /** axe-core on the page as it is now (serious and critical findings are recorded), and a photo. */
  async function review(page: Page, name: string): Promise<void> {
    const result = await new AxeBuilder({ page }).analyze();
    for (const v of result.violations)
      if (v.impact === 'serious' || v.impact === 'critical')
        axeFindings.push(
          `${name}: ${v.id} (${v.impact}) ${v.help}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`,
        );
    await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
  }

  async function signIn(page: Page, user: { username: string; password: string }): Promise<void> {
    await page.getByLabel('User name').fill(user.username);
    await page.getByLabel('Password').fill(user.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
  }

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    server = await startServer({ env: { PULL_STATS_FLUSH_SECONDS: '1' } });
    host = `127.0.0.1:${server.port}`;
    const index = await fetch(`${server.url}/`);
    if (!(await index.text()).includes('<div id="root">'))
      throw new Error('the server serves no web UI at / (run `npm run build` first)');
    for (const u of [ALICE, BOB])
      await ok(server.url, 'POST', '/users', { auth: ADMIN_AUTH, body: u });
    await mkimage(layout, 'v1', '300k,1m', '--seed', '11', '--gzip');
    await mkimage(layout, 'v2', '200k', '--seed', '12', '--gzip');
    await mkimage(
      layout,
      'multi',
      '64k',
      '--seed',
      '13',
      '--gzip',
      '--platform',
      'linux/amd64,linux/arm64',
    );
    v1 = readLayout(layout, 'v1');
    v2 = readLayout(layout, 'v2');
    const alice = `${ALICE.username}:${ALICE.password}`;
    await push(alice, 'v1', 'alice/app:v1');
    await push(alice, 'v2', 'alice/app:v2');
    await push(alice, 'multi', 'alice/app:multi', true);
    await push(alice, 'v2', 'alice/secret:v1');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  });

  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => undefined);
    await browser?.close();
    await server?.stop();
  });

  let alicePage: Page;

  it('sends a signed-out visitor to sign-in and back to the page asked for', async () => {
    alicePage = await newPage();
    await alicePage.goto('/account/api-keys');
    await alicePage.waitForURL(/\/sign-in\?next=%2Faccount%2Fapi-keys/);
    await review(alicePage, 'sign-in');
    await alicePage.getByLabel('User name').fill(ALICE.username);
    await alicePage.getByLabel('Password').fill('wrong-password');
    await alicePage.getByRole('button', { name: 'Sign in' }).click();
    await expect(alicePage.getByRole('alert').textContent()).resolves.toMatch(/password/i);
    await signIn(alicePage, ALICE);
    await alicePage.waitForURL(/\/account\/api-keys$/);
    await alicePage.getByRole('heading', { name: 'API keys' }).waitFor();
    // The refresh token is an httpOnly cookie: the page's scripts cannot read it, and a reload
    // resumes the session with it.
    await expect(alicePage.evaluate<string>('document.cookie')).resolves.not.toContain(
      'aerugo_refresh',
    );
    const cookies = await alicePage.context().cookies();
    expect(cookies.find((c) => c.name === 'aerugo_refresh')).toMatchObject({
      httpOnly: true,
      sameSite: 'Strict',
      path: '/api/v1/auth',
    });
    await alicePage.reload();
    await alicePage.getByRole('heading', { name: 'API keys' }).waitFor();
    expect(new URL(alicePage.url()).pathname).toBe('/account/api-keys');
  });

  it('home lists the namespaces and recent pushes; search finds the repository', async () => {
    await alicePage.goto('/');
    await alicePage.getByRole('heading', { name: 'Recently pushed' }).waitFor();
    await alicePage.getByRole('link', { name: 'alice/app' }).waitFor();
    await review(alicePage, 'home');
    await alicePage
      .getByRole('searchbox', { name: /search repositories/i })
      .first()
      .fill('app');
    await alicePage
      .getByRole('searchbox', { name: /search repositories/i })
      .first()
      .press('Enter');
    await alicePage.waitForURL(/\/search\?q=app/);
    await alicePage
      .getByRole('status')
      .filter({ hasText: /result/ })
      .waitFor();
    const link = alicePage.getByRole('link', { name: 'alice/app', exact: true });
    await link.waitFor();
    await review(alicePage, 'search');
    await link.click();
    await alicePage.waitForURL(/\/repo\/alice\/app$/);
  });

  it('the repository page lists the pushed tags with their digests and sizes', async () => {
    const table = alicePage.getByRole('table');
    await table.waitFor();
    const rows = await table.locator('tbody tr').evaluateAll((trs) =>
      trs.map((tr) => ({
        tag: tr.querySelector('th')?.textContent?.trim(),
        digest: tr.querySelector('[data-digest]')?.getAttribute('data-digest'),
        size: Number(tr.querySelector('[data-size]')?.getAttribute('data-size')),
        type: tr.querySelectorAll('td')[2]?.firstChild?.textContent?.trim(),
        platforms: tr.querySelectorAll('td')[2]?.getAttribute('data-platforms'),
      })),
    );
    const byTag = new Map(rows.map((r) => [r.tag, r]));
    expect([...byTag.keys()].sort()).toEqual(['multi', 'v1', 'v2']);
    expect(byTag.get('v1')).toMatchObject({ digest: v1.digest, size: v1.size, type: 'image' });
    expect(byTag.get('v2')).toMatchObject({ digest: v2.digest, size: v2.size, type: 'image' });
    expect(byTag.get('multi')).toMatchObject({
      type: 'index',
      platforms: 'linux/amd64,linux/arm64',
    });
    await expect(alicePage.getByLabel('Pull command').inputValue()).resolves.toBe(
      `docker pull ${host}/alice/app`,
    );
    // A pull of v1 shows in its row once the node has written its counts.
    const pulled = await fetch(`${server.url}/v2/alice/app/manifests/v1`, {
      headers: {
        authorization: `Basic ${Buffer.from(`${ALICE.username}:${ALICE.password}`).toString('base64')}`,
        accept: 'application/vnd.oci.image.manifest.v1+json',
      },
    });
    expect(pulled.status).toBe(200);
    const v1Pulls = table.locator('tbody tr', {
      has: alicePage.locator('th', { hasText: /^v1$/ }),
    });
    for (;;) {
      await alicePage.reload();
      await table.waitFor();
      if ((await v1Pulls.locator('[data-pulls]').getAttribute('data-pulls')) === '1') break;
      await new Promise((r) => setTimeout(r, 500));
    }
    await expect(v1Pulls.getByText(/^last /).count()).resolves.toBe(1);
    await review(alicePage, 'repository');
    // Filtering and sorting (done by the server, page by page).
    await alicePage.getByLabel('Filter tags').fill('v');
    await alicePage.getByRole('heading', { name: 'Tags (2 matching)' }).waitFor();
    await expect(table.locator('tbody tr').count()).resolves.toBe(2);
    await alicePage.getByLabel('Filter tags').fill('');
    await alicePage.getByRole('heading', { name: 'Tags (3)' }).waitFor();
    // The endpoint behind the table pages, filters and sorts on the server.
    const aliceAuth = { basic: [ALICE.username, ALICE.password] as [string, string] };
    const bySize = await ok(server.url, 'GET', '/repos/alice/app/tags?sort=size&order=desc', {
      auth: aliceAuth,
    });
    expect(bySize).toMatchObject({ total: 3, page: 1, perPage: 20 });
    expect(bySize.items.map((t: Json) => t.name)).toEqual(['v1', 'v2', 'multi']);
    const second = await ok(server.url, 'GET', '/repos/alice/app/tags?perPage=1&page=2', {
      auth: aliceAuth,
    });
    expect([second.total, second.items.map((t: Json) => t.name)]).toEqual([3, ['v1']]);
    const filtered = await ok(server.url, 'GET', '/repos/alice/app/tags?q=MUL', {
      auth: aliceAuth,
    });
    expect(filtered.items).toEqual([
      expect.objectContaining({ name: 'multi', platforms: ['linux/amd64', 'linux/arm64'] }),
    ]);
    const none = await ok(server.url, 'GET', '/repos/alice/app/tags?q=%25', { auth: aliceAuth });
    expect(none.total).toBe(0);
    const hidden = await api(server.url, 'GET', '/repos/alice/app/tags');
    expect(hidden.status).toBe(404);
    await alicePage.getByRole('button', { name: /^Tag/ }).click();
    // Newest first before (multi, v2, v1); by name now. (The page's Content-Security-Policy
    // forbids evaluating strings, so the wait is on the second row.)
    await table.locator('tbody tr').nth(1).locator('th', { hasText: /^v1$/ }).waitFor();
    await expect(
      table.locator('tbody th').evaluateAll((ths) => ths.map((t) => t.textContent)),
    ).resolves.toEqual(['multi', 'v1', 'v2']);
  });

  it('the manifest view shows the layers, the config and an index’s platforms', async () => {
    await alicePage.getByRole('link', { name: 'v1', exact: true }).click();
    const layers = alicePage.getByRole('table', { name: 'Layers' });
    await layers.waitFor();
    const shown = await layers
      .locator('tbody tr')
      .evaluateAll((trs) =>
        trs.map((tr) => [
          tr.querySelector('code')?.getAttribute('title'),
          Number(tr.querySelector('[data-size]')?.getAttribute('data-size')),
        ]),
      );
    expect(shown).toEqual(v1.layers.map((l) => [l.digest, l.size]));
    await alicePage.getByText('linux/amd64').first().waitFor();
    // The endpoint behind the view, straight.
    const aliceAuth = { basic: [ALICE.username, ALICE.password] as [string, string] };
    const view = await ok(server.url, 'GET', '/repos/alice/app/manifests/v1', { auth: aliceAuth });
    expect(view).toMatchObject({ digest: v1.digest, kind: 'image', manifests: [], referrers: [] });
    expect(view.layers.map((l: Json) => l.digest)).toEqual(v1.layers.map((l) => l.digest));
    expect(view.image).toMatchObject({ os: 'linux', architecture: 'amd64' });
    const byDigest = await ok(server.url, 'GET', `/repos/alice/app/manifests/${v1.digest}`, {
      auth: aliceAuth,
    });
    expect(byDigest.digest).toBe(v1.digest);
    const missing = await api(server.url, 'GET', '/repos/alice/app/manifests/nope', {
      auth: aliceAuth,
    });
    expect([missing.status, missing.body.code]).toEqual([404, 'NOT_FOUND']);
    const bad = await api(server.url, 'GET', '/repos/alice/app/manifests/-bad-', {
      auth: aliceAuth,
    });
    expect([bad.status, bad.body.code]).toEqual([400, 'VALIDATION_FAILED']);
    const anonymous = await api(server.url, 'GET', '/repos/alice/app/manifests/v1');
    expect(anonymous.status).toBe(404);
    await review(alicePage, 'manifest');
    await alicePage.goto('/repo/alice/app/-/manifest/multi');
    const platforms = alicePage.getByRole('table', { name: 'Platforms' });
    await platforms.waitFor();
    await expect(
      platforms.locator('tbody tr a').evaluateAll((as) => as.map((a) => a.textContent)),
    ).resolves.toEqual(['linux/amd64', 'linux/arm64']);
  });

  it('a private repository is invisible to another user', async () => {
    const bob = await newPage();
    await bob.goto('/sign-in');
    await signIn(bob, BOB);
    await bob.waitForURL((u) => u.pathname === '/');
    await bob.goto('/repo/alice/secret');
    await bob
      .getByRole('alert')
      .filter({ hasText: /not found|no repository/i })
      .waitFor();
    await bob.goto('/search?q=secret');
    await bob
      .getByRole('status')
      .filter({ hasText: /0 results/ })
      .waitFor();
    await expect(bob.getByRole('link', { name: 'alice/secret' }).count()).resolves.toBe(0);
    // Nor is administration offered to a user who is not a system administrator.
    await expect(bob.getByRole('link', { name: 'Administration' }).count()).resolves.toBe(0);
  });

  it('an organization owner creates a team and grants it write on a repository', async () => {
    await alicePage.goto('/orgs');
    await alicePage.getByLabel('Name', { exact: false }).first().fill('acme');
    await alicePage.getByRole('button', { name: 'Create organization' }).click();
    await alicePage.waitForURL(/\/orgs\/acme$/);
    await alicePage.getByRole('heading', { name: 'Members' }).waitFor();
    const addMember = alicePage.getByRole('form', { name: 'Add a member' });
    await addMember.getByLabel('User name').fill(BOB.username);
    await addMember.getByRole('button', { name: 'Add member' }).click();
    await alicePage.getByRole('rowheader', { name: BOB.username }).waitFor();
    const createTeam = alicePage.getByRole('form', { name: 'Create a team' });
    await createTeam.getByLabel('Team name').fill('devs');
    await createTeam.getByRole('button', { name: 'Create team' }).click();
    await alicePage.getByRole('link', { name: 'devs' }).click();
    await alicePage.waitForURL(/\/orgs\/acme\/teams\/devs$/);
    const addToTeam = alicePage.getByRole('form', { name: 'Add a team member' });
    await addToTeam.getByLabel('User name').fill(BOB.username);
    await addToTeam.getByRole('button', { name: 'Add to team' }).click();
    await alicePage.getByText(BOB.username, { exact: true }).waitFor();
    await review(alicePage, 'team');
    await alicePage.goto('/orgs/acme');
    await alicePage.getByRole('heading', { name: 'Teams' }).waitFor();
    await review(alicePage, 'organization');

    // The organization's repository, pushed by its owner; its settings grant the team write.
    await push(`${ALICE.username}:${ALICE.password}`, 'v2', 'acme/tool:v1');
    await alicePage.goto('/repo/acme/tool/-/settings');
    const grant = alicePage.getByRole('form', { name: 'Grant access' });
    await grant.getByLabel('Grant to').selectOption('team');
    await grant.getByLabel('Name').fill('devs');
    await grant.getByLabel('Level').selectOption('write');
    await grant.getByRole('button', { name: 'Grant' }).click();
    await alicePage.getByRole('rowheader', { name: 'team devs' }).waitFor();
    await review(alicePage, 'repository-settings');
    const perms = await ok(server.url, 'GET', '/repos/acme/tool/permissions', {
      auth: { basic: [ALICE.username, ALICE.password] },
    });
    expect(perms.teams).toEqual([{ team: 'devs', level: 'write' }]);
    // The grant is real: bob, through the team, may now push there.
    await push(`${BOB.username}:${BOB.password}`, 'v1', 'acme/tool:from-bob');
  });

  it('an API key is shown once and then works for a skopeo push', async () => {
    await alicePage.goto('/account/api-keys');
    const form = alicePage.getByRole('form', { name: 'Create an API key' });
    await form.getByLabel('Name').fill('ci');
    await form.getByRole('button', { name: 'Create key' }).click();
    const keyField = alicePage.getByLabel('New API key');
    await keyField.waitFor();
    const key = await keyField.inputValue();
    expect(key).toMatch(/^ak_/);
    await alicePage.getByRole('rowheader', { name: 'ci' }).waitFor();
    await review(alicePage, 'api-keys');
    await push(`${ALICE.username}:${key}`, 'v1', 'alice/app:from-key');
    await alicePage.goto('/repo/alice/app');
    await alicePage.getByRole('link', { name: 'from-key', exact: true }).waitFor();
    // Once dismissed (or on the next visit) the key is not shown again.
    await alicePage.goto('/account/api-keys');
    await alicePage.getByRole('rowheader', { name: 'ci' }).waitFor();
    await expect(alicePage.getByLabel('New API key').count()).resolves.toBe(0);
  });

  it('deletes a tag after confirmation', async () => {
    await alicePage.goto('/repo/alice/app');
    const row = alicePage
      .getByRole('row')
      .filter({ has: alicePage.getByText('v2', { exact: true }) });
    await row.getByRole('button', { name: 'Delete' }).click();
    const dialog = alicePage.getByRole('dialog');
    await dialog.getByText(/Delete tag v2\?/).waitFor();
    await review(alicePage, 'delete-tag-dialog');
    await dialog.getByRole('button', { name: 'Delete tag' }).click();
    await dialog.waitFor({ state: 'detached' });
    await alicePage.getByRole('link', { name: 'v2', exact: true }).waitFor({ state: 'detached' });
    const details = await ok(server.url, 'GET', '/repos/alice/app', {
      auth: { basic: [ALICE.username, ALICE.password] },
    });
    expect(details.tags.map((t: Json) => t.name).sort()).toEqual(['from-key', 'multi', 'v1']);
  });

  it('an ended session leads to sign-in and back to where the user was', async () => {
    await alicePage.goto('/account/sessions');
    await alicePage.getByRole('heading', { name: 'Sessions' }).waitFor();
    await review(alicePage, 'sessions');
    // The browser's session is ended from elsewhere (another sign-in of the same user).
    const other = await ok(server.url, 'POST', '/auth/login', { body: ALICE, expect: 200 });
    const list = await ok(server.url, 'GET', '/auth/sessions', {
      auth: { bearer: other.accessToken },
    });
    for (const s of list.items as Json[])
      if (!s.current)
        await ok(server.url, 'DELETE', `/auth/sessions/${s.id}`, {
          auth: { bearer: other.accessToken },
        });
    await alicePage.getByRole('link', { name: 'API keys' }).first().click();
    await alicePage.waitForURL(/\/sign-in\?next=%2Faccount%2Fapi-keys&expired=1/);
    await alicePage.getByText(/session has ended/i).waitFor();
    await signIn(alicePage, ALICE);
    await alicePage.waitForURL(/\/account\/api-keys$/);
    await alicePage.getByRole('rowheader', { name: 'ci' }).waitFor();
    await alicePage.goto('/account');
    await alicePage.getByRole('heading', { name: 'Profile' }).waitFor();
    await review(alicePage, 'account');
  });

  it('a system administrator manages users', async () => {
    const admin = await newPage();
    await admin.goto('/admin/users');
    await signIn(admin, TEST_ADMIN);
    await admin.waitForURL(/\/admin\/users$/);
    const bobRow = admin
      .getByRole('row')
      .filter({ has: admin.getByRole('rowheader', { name: 'bob' }) });
    await bobRow.getByRole('button', { name: 'Disable' }).click();
    await bobRow.getByRole('button', { name: 'Enable' }).waitFor();
    const bob = await ok(server.url, 'GET', '/users/bob', { auth: ADMIN_AUTH });
    expect(bob.active).toBe(false);
    await review(admin, 'admin-users');
    // A reset password works for signing in, and a too short one is refused in plain words.
    await bobRow.getByRole('button', { name: 'Reset password' }).click();
    const dialog = admin.getByRole('dialog');
    await dialog.getByLabel('New password').fill('bob-password-2');
    await dialog.getByRole('button', { name: 'Set password' }).click();
    await dialog.waitFor({ state: 'detached' });
    await admin.getByRole('status').filter({ hasText: 'Password of bob reset.' }).waitFor();
    await bobRow.getByRole('button', { name: 'Enable' }).click();
    await bobRow.getByRole('button', { name: 'Disable' }).waitFor();
    await ok(server.url, 'POST', '/auth/login', {
      body: { username: 'bob', password: 'bob-password-2' },
      expect: 200,
    });
  });

  it('works in a phone-sized window, in the dark theme', async () => {
    const phone = await newPage({ width: 390, height: 844 }, 'dark');
    await phone.goto('/sign-in?next=/repo/alice/app');
    await signIn(phone, ALICE);
    await phone.waitForURL(/\/repo\/alice\/app$/);
    await phone.getByRole('table').waitFor();
    await review(phone, 'repository-phone-dark');
    await phone.getByRole('button', { name: 'Menu' }).click();
    await phone.getByRole('link', { name: 'Organizations' }).click();
    await phone.waitForURL(/\/orgs$/);
    await review(phone, 'organizations-phone-dark');
  });

  it('axe-core found no serious or critical violation on any page', () => {
    expect(axeFindings).toEqual([]);
  });

  it('anonymous visitors see public repositories; the API and registry are not swallowed', async () => {
    const r = await api(server.url, 'GET', '/repos/nope/nothing');
    expect(r.status).toBe(404);
    expect(r.body.code).toBe('NOT_FOUND');
    const v2 = await fetch(`${server.url}/v2/`);
    expect(v2.status).toBe(401);
    const deep = await fetch(`${server.url}/repo/alice/app/-/manifest/v1`);
    expect(deep.status).toBe(200);
    expect(deep.headers.get('content-security-policy')).toContain("default-src 'self'");
    const missing = await fetch(`${server.url}/assets/missing.js`);
    expect(missing.status).toBe(404);
  });
});
