import { describe, expect, it } from '@jest/globals';
import {
  blobVerdict,
  type BlobFacts,
  type BlobVerdict,
  emptyFigures,
  MAX_REPORTED_ERRORS,
  noteError,
  scheduledRunDue,
} from '../../src/gc/gc-rules.js';

describe('blobVerdict: the transitions garbage collection may take', () => {
  const GRACE = 60;
  it.each<[BlobFacts, BlobVerdict]>([
    [{ state: 'live', referenced: true, stateAgeSeconds: 1e6 }, 'keep'],
    [{ state: 'live', referenced: false, stateAgeSeconds: 0 }, 'queue'],
    [{ state: 'candidate', referenced: true, stateAgeSeconds: 1e6 }, 'revive'],
    [{ state: 'candidate', referenced: true, stateAgeSeconds: 0 }, 'revive'],
    [{ state: 'candidate', referenced: false, stateAgeSeconds: 59.9 }, 'keep'],
    [{ state: 'candidate', referenced: false, stateAgeSeconds: 60 }, 'delete'],
    [{ state: 'candidate', referenced: false, stateAgeSeconds: 3600 }, 'delete'],
    [{ state: 'deleting', referenced: false, stateAgeSeconds: 0 }, 'delete'],
    [{ state: 'deleting', referenced: true, stateAgeSeconds: 0 }, 'delete'],
  ])('%j -> %s', (facts, verdict) => {
    expect(blobVerdict(facts, GRACE)).toBe(verdict);
  });

  it('with a grace period of 0 a queued blob may go at once', () => {
    expect(blobVerdict({ state: 'candidate', referenced: false, stateAgeSeconds: 0 }, 0)).toBe(
      'delete',
    );
  });
});

describe('scheduledRunDue', () => {
  const now = new Date('2026-01-01T12:00:00Z');
  it.each<[Date | null, boolean]>([
    [null, true],
    [new Date('2026-01-01T11:00:00Z'), true],
    [new Date('2026-01-01T11:06:00Z'), true],
    [new Date('2026-01-01T11:06:01Z'), false],
    [new Date('2026-01-01T11:59:00Z'), false],
  ])('last started %s -> %s (interval 1 h)', (last, due) => {
    expect(scheduledRunDue(last, now, 3600)).toBe(due);
  });
});

describe('noteError keeps the report bounded', () => {
  it('keeps the first errors and says there were more', () => {
    const f = emptyFigures();
    for (let i = 0; i < MAX_REPORTED_ERRORS + 5; i++) noteError(f, `e${i}`);
    expect(f.errors).toHaveLength(MAX_REPORTED_ERRORS + 1);
    expect(f.errors[0]).toBe('e0');
    expect(f.errors[MAX_REPORTED_ERRORS]).toBe('… more errors');
  });
});
