import type { LoggerService } from '@nestjs/common';
import { pino, type Level, type Logger as Pino } from 'pino';
import { inspect } from 'node:util';
import type { AppConfig } from '../config/config.js';

/** LOG_LEVEL (Nest's names) to pino's levels. */
const PINO_LEVEL: Record<AppConfig['logLevel'], Level> = {
  error: 'error',
  warn: 'warn',
  log: 'info',
  debug: 'debug',
  verbose: 'trace',
};

/**
 * The node's one logger: JSON lines on standard output (`LOG_FORMAT=json`, the default), or
 * coloured lines for a terminal (`pretty`, through pino-pretty). Nest's own messages, the
 * services' `new Logger(context)` and the access log (src/observability/http-observer.ts) all
 * go through it. Writes are synchronous, so a message logged just before the process exits is
 * not lost.
 */
export async function createRootLogger(
  level: AppConfig['logLevel'],
  format: AppConfig['logFormat'],
): Promise<Pino> {
  const options = {
    level: PINO_LEVEL[level],
    base: undefined,
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
  };
  if (format === 'pretty') {
    const { default: pretty } = await import('pino-pretty');
    return pino(
      options,
      pretty({
        sync: true,
        translateTime: 'SYS:standard',
        ignore: 'pid,hostname,context',
        messageFormat: '{if context}[{context}] {end}{msg}',
      }),
    );
  }
  return pino(options, pino.destination({ fd: 1, sync: true }));
}

/** Nest's LoggerService over pino: `context` (the last string argument) becomes a field. */
export class NestPinoLogger implements LoggerService {
  constructor(readonly pino: Pino) {}

  log(message: unknown, ...rest: unknown[]): void {
    this.write('info', message, rest);
  }

  error(message: unknown, ...rest: unknown[]): void {
    this.write('error', message, rest);
  }

  warn(message: unknown, ...rest: unknown[]): void {
    this.write('warn', message, rest);
  }

  debug(message: unknown, ...rest: unknown[]): void {
    this.write('debug', message, rest);
  }

  verbose(message: unknown, ...rest: unknown[]): void {
    this.write('trace', message, rest);
  }

  fatal(message: unknown, ...rest: unknown[]): void {
    this.write('fatal', message, rest);
  }

  private write(level: Level, message: unknown, rest: unknown[]): void {
    if (!this.pino.isLevelEnabled(level)) return;
    const fields: Record<string, unknown> = {};
    // Nest's Logger.error(message) passes an undefined stack: nothing to print.
    const args = rest.filter((a) => a !== undefined);
    if (args.length && typeof args[args.length - 1] === 'string')
      fields.context = args.pop() as string;
    // Nest's error(message, stack, context): the stack trace, when there is one.
    if (level === 'error' && typeof args[0] === 'string' && args[0].includes('\n    at '))
      fields.stack = args.shift();
    if (message instanceof Error) {
      fields.stack ??= message.stack;
      this.pino[level](fields, message.message);
      return;
    }
    const text = typeof message === 'string' ? message : inspect(message, { depth: 4 });
    this.pino[level](
      fields,
      args.length ? `${text} ${args.map((a) => inspect(a)).join(' ')}` : text,
    );
  }
}
