import { describe, expect, it } from '@jest/globals';
import {
  decideRetention,
  effectivePolicy,
  EMPTY_POLICY,
  type RetentionDecision,
  type RetentionInput,
  type RetentionManifest,
  type RetentionPolicy,
  type RetentionTag,
} from '../../src/retention/retention-rules.js';

const NOW = new Date('2026-06-01T00:00:00Z');
const daysAgo = (d: number): Date => new Date(NOW.getTime() - d * 86_400_000);
const tag = (
  name: string,
  digest: string,
  pushed: number,
  pulled: number | null = null,
): RetentionTag => ({
  name,
  digest,
  pushedAt: daysAgo(pushed),
  lastPulledAt: pulled === null ? null : daysAgo(pulled),
});
const man = (
  digest: string,
  created: number,
  extra: Partial<Omit<RetentionManifest, 'digest' | 'createdAt'>> = {},
): RetentionManifest => ({
  digest,
  createdAt: daysAgo(created),
  subjectDigest: extra.subjectDigest ?? null,
  children: extra.children ?? [],
});
const policy = (p: Partial<RetentionPolicy>): RetentionPolicy => ({ ...EMPTY_POLICY, ...p });

function run(p: Partial<RetentionInput>): RetentionDecision {
  return decideRetention({
    tags: [],
    manifests: [],
    policy: EMPTY_POLICY,
    immutablePatterns: [],
    history: [],
    now: NOW,
    ...p,
  });
}

const tags3 = [tag('a', 'm1', 30), tag('b', 'm2', 20), tag('c', 'm3', 10)];
const mans3 = [man('m1', 30), man('m2', 20), man('m3', 10)];

describe('decideRetention', () => {
  it.each<[string, Partial<RetentionInput>, string[], string[]]>([
    ['no policy deletes nothing', { tags: tags3, manifests: mans3 }, [], []],
    [
      'keepLatest 2 deletes the oldest tag',
      { tags: tags3, manifests: mans3, policy: policy({ keepLatest: 2 }) },
      ['a'],
      [],
    ],
    [
      'keepLatest 0 deletes every tag',
      { tags: tags3, policy: policy({ keepLatest: 0 }) },
      ['a', 'b', 'c'],
      [],
    ],
    [
      'keepPattern protects',
      { tags: tags3, policy: policy({ keepLatest: 1, keepPattern: ['a', 'x*'] }) },
      ['b'],
      [],
    ],
    [
      'immutable tags are never deleted',
      { tags: tags3, immutablePatterns: ['?'], policy: policy({ keepLatest: 0 }) },
      [],
      [],
    ],
    [
      'not pulled for 15 days (push time stands in)',
      { tags: tags3, policy: policy({ deleteNotPulledForDays: 15 }) },
      ['a', 'b'],
      [],
    ],
    [
      'a recent pull keeps an old tag',
      {
        tags: [tag('a', 'm1', 30, 1), tag('b', 'm2', 20, 16)],
        policy: policy({ deleteNotPulledForDays: 15 }),
      },
      ['b'],
      [],
    ],
    [
      'both rules set: a tag goes only when both let it',
      {
        tags: [tag('a', 'm1', 30, 1), tag('b', 'm2', 20), tag('c', 'm3', 10)],
        policy: policy({ keepLatest: 1, deleteNotPulledForDays: 15 }),
      },
      ['b'],
      [],
    ],
    [
      'untagged manifests older than D go',
      {
        tags: [tag('c', 'm3', 10)],
        manifests: mans3,
        policy: policy({ deleteUntaggedAfterDays: 25 }),
      },
      [],
      ['m1'],
    ],
    [
      'untagged manifests are kept without deleteUntaggedAfterDays',
      { tags: [], manifests: mans3, policy: policy({ keepLatest: 0 }) },
      [],
      [],
    ],
    [
      'a manifest untagged by retention now is kept by its history',
      {
        tags: tags3,
        manifests: mans3,
        policy: policy({ keepLatest: 2, deleteUntaggedAfterDays: 5 }),
      },
      ['a'],
      [],
    ],
    [
      'history within D keeps a manifest; older history does not',
      {
        manifests: mans3,
        history: [
          { digest: 'm1', at: daysAgo(2) },
          { digest: 'm2', at: daysAgo(9) },
        ],
        policy: policy({ deleteUntaggedAfterDays: 5 }),
      },
      [],
      ['m2', 'm3'],
    ],
    [
      'an index that stays keeps its children',
      {
        tags: [tag('i', 'idx', 1)],
        manifests: [
          man('idx', 1, { children: ['c1', 'c2'] }),
          man('c1', 40),
          man('c2', 40),
          man('x', 40),
        ],
        policy: policy({ deleteUntaggedAfterDays: 5 }),
      },
      [],
      ['x'],
    ],
    [
      'an index that goes takes its old children',
      {
        manifests: [man('idx', 40, { children: ['c1'] }), man('c1', 40)],
        policy: policy({ deleteUntaggedAfterDays: 5 }),
      },
      [],
      ['c1', 'idx'],
    ],
    [
      'a subject that stays keeps its (old) referrers',
      {
        tags: [tag('t', 's', 1)],
        manifests: [man('s', 50), man('sig', 50, { subjectDigest: 's' })],
        policy: policy({ deleteUntaggedAfterDays: 5 }),
      },
      [],
      [],
    ],
    [
      'a new referrer of a subject that goes goes with it',
      {
        manifests: [man('s', 50), man('sig', 0, { subjectDigest: 's' })],
        policy: policy({ deleteUntaggedAfterDays: 5 }),
      },
      [],
      ['s', 'sig'],
    ],
    [
      'a referrer of a subject kept by age stays',
      {
        manifests: [man('s', 1), man('sig', 50, { subjectDigest: 's' })],
        policy: policy({ deleteUntaggedAfterDays: 5 }),
      },
      [],
      [],
    ],
    [
      'a referrer whose subject is absent goes by age',
      {
        manifests: [man('r1', 50, { subjectDigest: 'zz' }), man('r2', 1, { subjectDigest: 'zz' })],
        policy: policy({ deleteUntaggedAfterDays: 5 }),
      },
      [],
      ['r1'],
    ],
    [
      'a tagged referrer stays and keeps nothing else',
      {
        tags: [tag('sig', 'r', 1)],
        manifests: [man('s', 50), man('r', 50, { subjectDigest: 's' })],
        policy: policy({ deleteUntaggedAfterDays: 5 }),
      },
      [],
      ['s'],
    ],
  ])('%s', (_name, input, tags, manifests) => {
    const d = run(input);
    expect(d.tags.map((t) => t.name)).toEqual(tags);
    expect(d.manifests).toEqual(manifests);
  });
});

describe('effectivePolicy: the repository overrides the namespace field by field', () => {
  it.each<[RetentionPolicy | null, RetentionPolicy | null, RetentionPolicy]>([
    [null, null, EMPTY_POLICY],
    [
      policy({ keepLatest: 5, deleteUntaggedAfterDays: 7 }),
      null,
      policy({ keepLatest: 5, deleteUntaggedAfterDays: 7 }),
    ],
    [
      policy({ keepLatest: 5, deleteUntaggedAfterDays: 7 }),
      policy({ keepLatest: 2, keepPattern: ['v*'] }),
      policy({ keepLatest: 2, keepPattern: ['v*'], deleteUntaggedAfterDays: 7 }),
    ],
    [policy({ keepLatest: 5 }), policy({ keepLatest: 0 }), policy({ keepLatest: 0 })],
  ])('%j + %j', (ns, repo, want) => {
    expect(effectivePolicy(ns, repo)).toEqual(want);
  });
});
