import type { Ora } from 'ora';
import type { Output } from './output.js';
import { colorEnabled } from './output.js';

/**
 * A spinner on stderr for work that may take over a second: only on a terminal, not with
 * --verbose, and only once the work has run for a moment, so that quick answers do not flicker.
 * ora is loaded only then, which keeps the start of every other run quick.
 */
export async function withSpinner<T>(
  out: Output,
  text: string,
  work: () => Promise<T>,
): Promise<T> {
  const stream = process.stderr;
  // A terminal that reports no width (a pty opened by `script` without one) would make ora
  // clear lines without end: no spinner there either.
  if (!stream.isTTY || out.verbose || !(stream.columns > 0)) return work();
  let finished = false;
  let spinner: Ora | undefined;
  const timer = setTimeout(() => {
    void import('ora').then(({ default: ora }) => {
      if (finished) return;
      spinner = ora({
        text,
        stream,
        discardStdin: false,
        color: colorEnabled(stream, process.env) ? 'cyan' : false,
      }).start();
    });
  }, 250);
  try {
    return await work();
  } finally {
    finished = true;
    clearTimeout(timer);
    spinner?.stop();
  }
}
