import { describe, expect, it } from '@jest/globals';
import { quotaRefusal, type QuotaFacts } from '../../src/quotas/quota-rules.js';

describe('quotaRefusal', () => {
  const base: QuotaFacts = {
    namespace: 'acme',
    usage: 100,
    quota: 100,
    size: 40,
    newToNamespace: true,
  };
  it.each<[Partial<QuotaFacts>, boolean]>([
    [{}, false], // exactly at the limit
    [{ usage: 101 }, true],
    [{ quota: null, usage: 1e12 }, false],
    [{ usage: 101, newToNamespace: false }, false],
    [{ quota: 0, usage: 1, size: 1 }, true],
    [{ quota: 0, usage: 0, size: 0 }, false],
  ])('%j -> refused %s', (over, refused) => {
    expect(quotaRefusal({ ...base, ...over }) !== null).toBe(refused);
  });
  it('says quota, usage and limit', () => {
    expect(quotaRefusal({ ...base, usage: 140 })).toBe(
      'quota exceeded for namespace "acme": usage 100 bytes + this blob 40 bytes would pass the limit of 100 bytes',
    );
  });
});
