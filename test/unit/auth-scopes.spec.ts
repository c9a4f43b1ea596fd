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
