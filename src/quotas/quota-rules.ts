/** What the quota check knows after a link was added (in its transaction, under the row lock). */
export interface QuotaFacts {
  namespace: string;
  /** The namespace's usage with the new blob counted. */
  usage: number;
  quota: number | null;
  /** The blob's size. */
  size: number;
  /** Whether the link made the namespace hold the blob for the first time. */
  newToNamespace: boolean;
}

/**
 * The refusal message when the blob takes the namespace past its quota, else null. A blob the
 * namespace already holds adds nothing and is never refused (even over a lowered quota).
 */
export function quotaRefusal(f: QuotaFacts): string | null {
  if (f.quota === null || !f.newToNamespace || f.usage <= f.quota) return null;
  return (
    `quota exceeded for namespace "${f.namespace}": usage ${f.usage - f.size} bytes + ` +
    `this blob ${f.size} bytes would pass the limit of ${f.quota} bytes`
  );
}
