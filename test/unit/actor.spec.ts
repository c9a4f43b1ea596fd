import { describe, expect, it } from '@jest/globals';
import type { Request } from 'express';
import { actorUserId, requestIdOf, systemActor } from '../../src/common/actor.js';

const req = (headers: Record<string, string> = {}) => ({ headers }) as unknown as Request;

describe('Actor', () => {
  it.each([
    ['a well-formed X-Request-Id is kept', 'abc-123_x.y:z', 'abc-123_x.y:z'],
    ['spaces are refused', 'a b', undefined],
    ['too long is refused', 'x'.repeat(129), undefined],
    ['control characters are refused', 'a\u0000b', undefined],
  ])('%s', (_label, sent, kept) => {
    const id = requestIdOf(req({ 'x-request-id': sent }));
    if (kept) expect(id).toBe(kept);
    else expect(id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('gives a request one id however often it is asked', () => {
    const r = req();
    expect(requestIdOf(r)).toBe(requestIdOf(r));
  });

  it('names the acting user only for users', () => {
    expect(
      actorUserId({
        principal: { kind: 'user', userId: 'u1', username: 'u', isAdmin: false },
        credential: 'jwt',
        requestId: 'r',
      }),
    ).toBe('u1');
    expect(
      actorUserId({ principal: { kind: 'anonymous' }, credential: 'anonymous', requestId: 'r' }),
    ).toBeNull();
    expect(actorUserId(systemActor('bootstrap'))).toBeNull();
    expect(systemActor('bootstrap')).toMatchObject({
      credential: 'system',
      principal: { kind: 'system', name: 'bootstrap' },
    });
  });
});
