import { describe, expect, it } from '@jest/globals';
import {
  describeApiError,
  formatBytes,
  pullCommand,
  safeReturnTo,
  shortDigest,
  timeAgo,
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
