import { describe, expect, it } from '@jest/globals';
import {
  describeApiError,
  formatBytes,
  pullCommand,
  queryTags,
  safeReturnTo,
  shortDigest,
  timeAgo,
  type TagRow,
} from '../../web/src/lib/format.js';

// The web UI's own logic (web/src/lib/format.ts): no DOM, so it runs under the project's jest.

describe('web UI formatting', () => {
  it('formats sizes in binary units', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1023)).toBe('1023 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(1359994)).toBe('1.3 MiB');
    expect(formatBytes(50 * 1024 ** 3)).toBe('50 GiB');
    expect(formatBytes(-1)).toBe('–');
  });

  it('says how long ago something happened', () => {
    const now = Date.parse('2026-01-10T12:00:00Z');
    expect(timeAgo(null, now)).toBe('never');
    expect(timeAgo('2026-01-10T11:59:50Z', now)).toBe('just now');
    expect(timeAgo('2026-01-10T11:57:00Z', now)).toBe('3 minutes ago');
    expect(timeAgo('2026-01-10T11:00:00Z', now)).toBe('1 hour ago');
    expect(timeAgo('2026-01-08T12:00:00Z', now)).toBe('2 days ago');
    expect(timeAgo('not a date', now)).toBe('–');
  });

  it('shortens digests', () => {
    expect(shortDigest(`sha256:${'a'.repeat(64)}`)).toBe(`sha256:${'a'.repeat(12)}`);
  });

  it('returns only to paths of this site after sign-in', () => {
    expect(safeReturnTo('/repo/alice/app?x=1')).toBe('/repo/alice/app?x=1');
    for (const bad of [
      null,
      '',
      'https://evil.example/',
      '//evil.example/x',
      '/\\evil.example',
      'javascript:alert(1)',
      '/sign-in?next=/x',
      '/register',
    ])
      expect(safeReturnTo(bad)).toBe('/');
  });

  it('builds the pull command from the public address', () => {
    expect(pullCommand('https://registry.example.com', 'acme/team/app')).toBe(
      'docker pull registry.example.com/acme/team/app',
    );
    expect(pullCommand('http://127.0.0.1:8080', 'alice/app', 'v1')).toBe(
      'docker pull 127.0.0.1:8080/alice/app:v1',
    );
  });

  it('puts API errors in plain words', () => {
    expect(describeApiError({ message: 'no such repository' }, 404)).toBe('No such repository');
    expect(describeApiError({ message: ['name too long', 'bad email'] }, 400)).toBe(
      'name too long; bad email',
    );
    expect(describeApiError(undefined, 403)).toBe('You may not do this.');
    expect(describeApiError(undefined, 503)).toMatch(/try again/);
  });
});

describe('web UI tag table', () => {
  const tags: TagRow[] = Array.from({ length: 10_000 }, (_, i) => ({
    name: `v${i}`,
    digest: `sha256:${i.toString(16).padStart(64, '0')}`,
    size: (i * 7919) % 10_007,
    pushedAt: new Date(Date.UTC(2026, 0, 1) + i * 60_000).toISOString(),
  }));

  it('pages 10,000 tags', () => {
    const p = queryTags(tags, {
      filter: '',
      sort: 'name',
      descending: false,
      page: 3,
      perPage: 25,
    });
    expect(p.total).toBe(10_000);
    expect(p.pages).toBe(400);
    expect(p.page).toBe(3);
    expect(p.rows).toHaveLength(25);
    // Names sort as strings: v0, v1, v10, v100, …
    expect(p.rows[0].name).toBe(
      [...tags.map((t) => t.name)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))[50],
    );
  });

  it('sorts by size and push time in either direction, ties by name', () => {
    const bySize = queryTags(tags, {
      filter: '',
      sort: 'size',
      descending: true,
      page: 1,
      perPage: 10_000,
    }).rows;
    expect(bySize.every((t, i) => i === 0 || bySize[i - 1].size >= t.size)).toBe(true);
    const newest = queryTags(tags, {
      filter: '',
      sort: 'pushedAt',
      descending: true,
      page: 1,
      perPage: 1,
    });
    expect(newest.rows[0].name).toBe('v9999');
  });

  it('filters by tag name or digest and clamps the page', () => {
    const f = queryTags(tags, {
      filter: 'V999',
      sort: 'name',
      descending: false,
      page: 9,
      perPage: 5,
    });
    expect(f.total).toBe(11); // v999, v9990…v9999
    expect(f.page).toBe(3);
    expect(f.rows.map((r) => r.name)).toEqual(['v9999']);
    const byDigest = queryTags(tags, {
      filter: tags[42].digest.slice(-6),
      sort: 'name',
      descending: false,
      page: 1,
      perPage: 5,
    });
    expect(byDigest.rows.map((r) => r.name)).toContain('v42');
    expect(
      queryTags([], { filter: '', sort: 'name', descending: false, page: 1, perPage: 5 }),
    ).toEqual({
      rows: [],
      total: 0,
      page: 1,
      pages: 1,
    });
  });
});
