import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { Api, resolveTarget, type Target } from './api.js';
import { ConfigStore, configDir } from './config.js';
import { Output } from './output.js';

/** Options every command takes (declared on the program). */
export interface GlobalOptions {
  json?: boolean;
  verbose?: boolean;
  context?: string;
}

let cachedVersion: string | undefined;

/** The version of the package this CLI was built from. */
export function cliVersion(): string {
  if (cachedVersion) return cachedVersion;
  try {
    const pkg = JSON.parse(
      readFileSync(new URL('../../package.json', import.meta.url), 'utf8'),
    ) as { version?: string };
    cachedVersion = pkg.version ?? '0.0.0';
  } catch {
    cachedVersion = '0.0.0';
  }
  return cachedVersion;
}

/** What a command run needs: its options, output, configuration file and API client. */
export class Runtime {
  readonly out: Output;
  readonly store: ConfigStore;
  private api?: Api;

  constructor(
    readonly opts: GlobalOptions,
    readonly env: NodeJS.ProcessEnv = process.env,
  ) {
    this.out = new Output(!!opts.json, !!opts.verbose, process.stdout, process.stderr, env);
    this.store = new ConfigStore(configDir(env));
  }

  static of(cmd: Command): Runtime {
    return new Runtime(cmd.optsWithGlobals<GlobalOptions>());
  }

  get userAgent(): string {
    return `aerugo-cli/${cliVersion()} (node ${process.version})`;
  }

  target(): Target {
    return resolveTarget(this.store.load(), this.opts, this.env)!;
  }

  client(target: Target = this.target()): Api {
    if (!this.api || this.api.target !== target)
      this.api = new Api(target, this.store, this.out, this.userAgent);
    return this.api;
  }
}
