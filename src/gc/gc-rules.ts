import type { BlobState } from '../registry/blobs.data.js';

/** What garbage collection does with one blob row it holds (see gc.service.ts). */
export type BlobVerdict = 'keep' | 'queue' | 'revive' | 'delete';

/** What the collector knows of a blob row while it holds it (`FOR UPDATE`). */
export interface BlobFacts {
  state: BlobState;
  /** A link, a manifest reference or an upload being published names the blob. */
  referenced: boolean;
  /** Seconds since the row entered its state. */
  stateAgeSeconds: number;
}

/**
 * The transitions of the blob lifecycle the collector may take:
 *
 * - live, unreferenced → queue (becomes a candidate, its grace period starts);
 * - candidate, referenced again → revive (a writer that touched it would have revived it too);
 * - candidate, unreferenced for the whole grace period → delete (becomes `deleting`);
 * - deleting → delete (a run that stopped half-way is finished);
 * - anything else is kept as it is.
 */
export function blobVerdict(facts: BlobFacts, graceSeconds: number): BlobVerdict {
  switch (facts.state) {
    case 'deleting':
      return 'delete';
    case 'candidate':
      if (facts.referenced) return 'revive';
      return facts.stateAgeSeconds >= graceSeconds ? 'delete' : 'keep';
    case 'live':
      return facts.referenced ? 'keep' : 'queue';
  }
}

/** One run's figures (a dry run: what it would do). */
export interface GcFigures {
  /** By retention (src/retention), like manifestsDeleted. */
  tagsDeleted: number;
  manifestsDeleted: number;
  linksDeleted: number;
  blobsQueued: number;
  blobsDeleted: number;
  bytesDeleted: number;
  uploadsDeleted: number;
  errors: string[];
}

export function emptyFigures(): GcFigures {
  return {
    tagsDeleted: 0,
    manifestsDeleted: 0,
    linksDeleted: 0,
    blobsQueued: 0,
    blobsDeleted: 0,
    bytesDeleted: 0,
    uploadsDeleted: 0,
    errors: [],
  };
}

/** At most this many error messages are kept in a run's report. */
export const MAX_REPORTED_ERRORS = 20;

/** Adds an error message to the figures, keeping the report bounded. */
export function noteError(figures: GcFigures, message: string): void {
  if (figures.errors.length < MAX_REPORTED_ERRORS) figures.errors.push(message);
  else if (figures.errors.length === MAX_REPORTED_ERRORS) figures.errors.push('… more errors');
}

/** Whether a scheduled run is due, given when the last collecting run started (any node). */
export function scheduledRunDue(
  lastStarted: Date | null,
  now: Date,
  intervalSeconds: number,
): boolean {
  if (!lastStarted) return true;
  // A little slack, so that the node whose timer fires just before the interval is up still runs.
  return now.getTime() - lastStarted.getTime() >= intervalSeconds * 900;
}
