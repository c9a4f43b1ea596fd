import Table from 'cli-table3';
import pc from 'picocolors';
import { CliError } from './errors.js';

export type Colors = ReturnType<typeof pc.createColors>;

interface Stream {
  isTTY?: boolean;
  write(chunk: string): unknown;
}

/**
 * Colors only on a terminal, never with NO_COLOR (any non-empty value, as no-color.org says) or
 * TERM=dumb. Deliberately not picocolors' own detection, which also colors output in CI.
 */
export function colorEnabled(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv): boolean {
  if (env.NO_COLOR) return false;
  if (env.TERM === 'dumb') return false;
  return stream.isTTY === true;
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** 1536 → "1.5 KiB"; three significant digits at most, whole bytes below 1 KiB. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '-';
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  if (unit === 0) return `${bytes} B`;
  const digits = value >= 100 ? 0 : value >= 10 ? 1 : 2;
  return `${Number(value.toFixed(digits))} ${UNITS[unit]}`;
}

/** How long ago `when` was, as people say it: "just now", "5 minutes ago", "3 days ago". */
export function formatAge(when: string | Date | null | undefined, now = Date.now()): string {
  if (when === null || when === undefined) return '-';
  const t = typeof when === 'string' ? Date.parse(when) : when.getTime();
  if (Number.isNaN(t)) return '-';
  const s = Math.round((now - t) / 1000);
  if (s < 0) return formatFuture(-s);
  if (s < 45) return 'just now';
  const steps: [number, string][] = [
    [60, 'minute'],
    [3600, 'hour'],
    [86400, 'day'],
    [86400 * 30, 'month'],
    [86400 * 365, 'year'],
  ];
  let chosen = steps[0];
  for (const step of steps) if (s >= step[0] * 0.9) chosen = step;
  const n = Math.max(1, Math.round(s / chosen[0]));
  return `${n} ${chosen[1]}${n === 1 ? '' : 's'} ago`;
}

function formatFuture(s: number): string {
  if (s < 45) return 'in a moment';
  const units: [number, string][] = [
    [86400 * 365, 'year'],
    [86400 * 30, 'month'],
    [86400, 'day'],
    [3600, 'hour'],
    [60, 'minute'],
  ];
  const [size, name] = units.find(([size]) => s >= size) ?? units[units.length - 1];
  const n = Math.max(1, Math.round(s / size));
  return `in ${n} ${name}${n === 1 ? '' : 's'}`;
}

/** A date as YYYY-MM-DD HH:MM in UTC, for fields where the exact moment matters. */
export function formatDate(when: string | null | undefined): string {
  if (!when) return '-';
  const t = Date.parse(when);
  if (Number.isNaN(t)) return '-';
  return new Date(t).toISOString().slice(0, 16).replace('T', ' ') + ' UTC';
}

/** sha256:0123456789abcdef… → sha256:0123456789ab (as docker shows image ids). */
export function shortDigest(digest: string, full = false): string {
  if (full) return digest;
  const i = digest.indexOf(':');
  return i < 0 ? digest.slice(0, 12) : digest.slice(0, i + 13);
}

/** What the output of a command looks like: tables and lines for people, JSON for scripts. */
export class Output {
  readonly c: Colors;
  readonly ce: Colors;

  constructor(
    readonly json: boolean,
    readonly verbose: boolean,
    readonly stdout: Stream = process.stdout,
    readonly stderr: Stream = process.stderr,
    env: NodeJS.ProcessEnv = process.env,
  ) {
    this.c = pc.createColors(colorEnabled(stdout, env));
    this.ce = pc.createColors(colorEnabled(stderr, env));
  }

  /** The machine-readable result of a command (always one JSON document on stdout). */
  data(value: unknown): void {
    this.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  }

  line(text = ''): void {
    this.stdout.write(`${text}\n`);
  }

  /** A human message about what was done: on stdout, or nowhere with --json. */
  done(text: string): void {
    if (!this.json) this.line(text);
  }

  /** A note for the person at the terminal (truncated lists, hints): always stderr. */
  note(text: string): void {
    this.stderr.write(`${this.ce.dim(text)}\n`);
  }

  warn(text: string): void {
    this.stderr.write(`${this.ce.yellow('warning:')} ${text}\n`);
  }

  error(err: CliError): void {
    if (this.json) {
      this.stderr.write(
        `${JSON.stringify({ error: { message: err.message, exitCode: err.exitCode, ...err.details } })}\n`,
      );
      return;
    }
    this.stderr.write(`${this.ce.red('aerugo:')} ${err.message.replace(/\s*\n\s*/g, ' ')}\n`);
  }

  /** A borderless table with a header row, as docker and kubectl print them. */
  table(head: string[], rows: string[][], empty = 'Nothing to show.'): void {
    if (!rows.length) {
      this.line(this.c.dim(empty));
      return;
    }
    this.line(renderTable(head, rows, this.c));
  }

  /** "Label:  value" lines, labels aligned. */
  fields(pairs: [string, string][]): void {
    const width = Math.max(...pairs.map(([k]) => k.length)) + 1;
    for (const [k, v] of pairs) this.line(`${this.c.bold(`${k}:`.padEnd(width))}  ${v}`);
  }
}

const NO_BORDER = {
  top: '',
  'top-mid': '',
  'top-left': '',
  'top-right': '',
  bottom: '',
  'bottom-mid': '',
  'bottom-left': '',
  'bottom-right': '',
  left: '',
  'left-mid': '',
  mid: '',
  'mid-mid': '',
  right: '',
  'right-mid': '',
  middle: '  ',
};

export function renderTable(head: string[], rows: string[][], c: Colors): string {
  const table = new Table({
    head: head.map((h) => c.bold(h)),
    chars: NO_BORDER,
    style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0, compact: true },
  });
  table.push(...rows);
  return table
    .toString()
    .split('\n')
    .map((l) => l.trimEnd())
    .join('\n');
}
