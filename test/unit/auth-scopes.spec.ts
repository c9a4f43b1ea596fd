import { describe, expect, it } from '@jest/globals';
import {
  formatScope,
  grantedActions,
  intersectActions,
  isCatalogScope,
  isRepositoryScope,
  parseScope,
  parseScopes,
  requestedRepositoryActions,
} from '../../src/auth/scopes.js';

describe('scope parsing', () => {
  it('parses repository and registry scopes', () => {
    expect(parseScope('repository:alice/app:pull,push')).toEqual({
      type: 'repository',
      name: 'alice/app',
      actions: ['pull', 'push'],
    });
    expect(parseScope('registry:catalog:*')).toEqual({
      type: 'registry',
      name: 'catalog',
      actions: ['*'],
    });
    expect(parseScope('repository(plugin):a/b:pull')).toEqual({
      type: 'repository(plugin)',
      name: 'a/b',
      actions: ['pull'],
    });
  });

  it('keeps colons inside the name (registry host with a port)', () => {
    expect(parseScope('repository:localhost:5000/app:pull')).toEqual({
      type: 'repository',
      name: 'localhost:5000/app',
      actions: ['pull'],
    });
  });

  it('accepts an empty action list and drops duplicate actions', () => {
    expect(parseScope('repository:a/b:')).toEqual({ type: 'repository', name: 'a/b', actions: [] });
    expect(parseScope('repository:a/b:pull,pull,,push')?.actions).toEqual(['pull', 'push']);
  });

  it.each(['', 'repository', 'repository:a/b', ':a/b:pull', 'repository::pull', 'bad type:a:pull'])(
    'rejects %p',
    (s) => {
      expect(parseScope(s)).toBeNull();
    },
  );

  it('merges repeated parameters and space-separated OAuth2 scopes per resource', () => {
    const scopes = parseScopes([
      'repository:a/b:pull',
      'repository:a/b:push repository:c/d:pull',
      'nonsense',
    ]);
    expect(scopes).toEqual([
      { type: 'repository', name: 'a/b', actions: ['pull', 'push'] },
      { type: 'repository', name: 'c/d', actions: ['pull'] },
    ]);
    expect(parseScopes(undefined)).toEqual([]);
    expect(parseScopes('registry:catalog:*')).toEqual([
      { type: 'registry', name: 'catalog', actions: ['*'] },
    ]);
  });
});

describe('scope intersection', () => {
  it('expands * to every repository action and ignores unknown actions', () => {
    expect(requestedRepositoryActions(['*'])).toEqual(['pull', 'push', 'delete']);
    expect(requestedRepositoryActions(['push', 'fly', 'pull'])).toEqual(['pull', 'push']);
  });

  it('grants the intersection of requested and allowed', () => {
    expect(intersectActions(['pull', 'push'], ['pull'])).toEqual(['pull']);
    expect(intersectActions(['pull', 'push', 'delete'], ['pull', 'push', 'delete'])).toEqual([
      'pull',
      'push',
      'delete',
    ]);
    expect(intersectActions(['push'], [])).toEqual([]);
    expect(intersectActions([], ['pull', 'push'])).toEqual([]);
  });

  it('recognises grantable scopes', () => {
    expect(isRepositoryScope({ type: 'repository', name: 'alice/app', actions: [] })).toBe(true);
    expect(isRepositoryScope({ type: 'repository', name: 'Alice/App', actions: [] })).toBe(false);
    expect(isRepositoryScope({ type: 'repository(plugin)', name: 'alice/app', actions: [] })).toBe(
      false,
    );
    expect(isCatalogScope({ type: 'registry', name: 'catalog', actions: ['*'] })).toBe(true);
    expect(isCatalogScope({ type: 'registry', name: 'catalog', actions: ['pull'] })).toBe(false);
  });

  it('reads the actions a token grants on one resource', () => {
    const access = [
      { type: 'repository', name: 'a/b', actions: ['pull'] },
      { type: 'repository', name: 'a/c', actions: ['pull', 'push'] },
      { type: 'registry', name: 'catalog', actions: ['*'] },
    ];
    expect([...grantedActions(access, 'repository', 'a/c')]).toEqual(['pull', 'push']);
    expect(grantedActions(access, 'repository', 'a/x').size).toBe(0);
    expect(grantedActions(undefined, 'repository', 'a/b').size).toBe(0);
    expect(formatScope('repository', 'a/b', ['pull', 'push'])).toBe('repository:a/b:pull,push');
  });
});

describe('scope grammar, case by case', () => {
  it.each<[string, ReturnType<typeof parseScope>]>([
    ['Repository:a/b:pull', { type: 'Repository', name: 'a/b', actions: ['pull'] }],
    [
      'repository:a/b: pull , push ',
      { type: 'repository', name: 'a/b', actions: ['pull', 'push'] },
    ],
    ['r2(p1):a:pull', { type: 'r2(p1)', name: 'a', actions: ['pull'] }],
    ['repository:a:b:c:*', { type: 'repository', name: 'a:b:c', actions: ['*'] }],
    ['-repository:a/b:pull', null],
    ['repository-:a/b:pull', null],
    ['repository():a/b:pull', null],
    ['repository(plugin:a/b:pull', null],
    ['repository(a)(b):a/b:pull', null],
    ['repository(a b):a/b:pull', null],
    ['(plugin):a/b:pull', null],
    ['repository(plugin)x:a/b:pull', null],
  ])('%p', (s, want) => {
    expect(parseScope(s)).toEqual(want);
  });

  it('ignores blanks between OAuth2 scopes and keeps resources of the same name but another type apart', () => {
    expect(parseScopes('  repository:a/b:pull   registry:a/b:* ')).toEqual([
      { type: 'repository', name: 'a/b', actions: ['pull'] },
      { type: 'registry', name: 'a/b', actions: ['*'] },
    ]);
    expect(parseScopes(['repository:a/b:pull', 'repository:a/b:pull,delete'])).toEqual([
      { type: 'repository', name: 'a/b', actions: ['pull', 'delete'] },
    ]);
  });

  it('the catalog is registry:catalog:* and nothing else', () => {
    expect(isCatalogScope({ type: 'repository', name: 'catalog', actions: ['*'] })).toBe(false);
    expect(isCatalogScope({ type: 'registry', name: 'catalogs', actions: ['*'] })).toBe(false);
    expect(isCatalogScope({ type: 'registry', name: 'catalog', actions: ['pull', '*'] })).toBe(
      true,
    );
    expect(isRepositoryScope({ type: 'registry', name: 'alice/app', actions: [] })).toBe(false);
  });

  it('a token grants on a resource only what an entry of the same type and name says', () => {
    const access = [
      { type: 'registry', name: 'a/b', actions: ['*'] },
      { type: 'repository', name: 'a/bc', actions: ['push'] },
      { type: 'repository', name: 'a/b', actions: ['pull'] },
      { type: 'repository', name: 'a/b', actions: ['delete', 'pull'] },
    ];
    expect([...grantedActions(access, 'repository', 'a/b')]).toEqual(['pull', 'delete']);
    expect([...grantedActions(access, 'registry', 'a/b')]).toEqual(['*']);
    expect(formatScope('repository', 'a/b', [])).toBe('repository:a/b:');
    expect(requestedRepositoryActions([])).toEqual([]);
    expect(requestedRepositoryActions(['delete', '*'])).toEqual(['pull', 'push', 'delete']);
  });
});
