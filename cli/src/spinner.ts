import ora from 'ora';
import type { Output } from './output.js';
import { colorEnabled } from './output.js';

/** A spinner on stderr for work that may take over a second; only on a terminal, not with --verbose. */
export async function withSpinner<T>(
  out: Output,
  text: string,
  work: () => Promise<T>,
): Promise<T> {
  const stream = process.stderr;
  if (!stream.isTTY || out.verbose) return work();
  const spinner = ora({
    text,
    stream,
    discardStdin: false,
    color: colorEnabled(stream, process.env) ? 'cyan' : false,
  });
  // Shown only when the work is not done within a moment, so quick answers do not flicker.
  const timer = setTimeout(() => spinner.start(), 250);
  try {
    return await work();
  } finally {
    clearTimeout(timer);
    if (spinner.isSpinning) spinner.stop();
  }
}
