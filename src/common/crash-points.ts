/**
 * Named points where a test can make this process die as if killed (SIGKILL), to prove that
 * what was done before the point survives and what comes after is redone safely. Off unless
 * AERUGO_CRASH_AT names the point (the e2e tests set it on a node they start themselves).
 *
 * - `upload.published`: a blob's bytes are at their content address, not yet recorded.
 */
export type CrashPoint = 'upload.published';

export function crashPoint(point: CrashPoint): void {
  if (process.env.AERUGO_CRASH_AT === point) process.kill(process.pid, 'SIGKILL');
}
