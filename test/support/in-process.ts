// Aerugo nodes inside the test process (the compiled app from dist/, as `npm start` runs it), for
// service-level tests that must reach a node's services: hold a load open, count verifications.
// Several nodes may run side by side; each reads its configuration from `env` at creation.
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { PROJECT_ROOT } from './test-env.js';

export interface InProcessNode {
  app: NestExpressApplication;
  url: string;
  /** A provider of the node, by its class in dist/ (see distClass). */
  get<T>(cls: abstract new (...args: never[]) => T): T;
  close(): Promise<void>;
}

/** A class exported by a module of dist/src (e.g. `repos/repos.service.js`, `ReposService`). */
export async function distClass<T = unknown>(
  module: string,
  name: string,
): Promise<abstract new (...args: never[]) => T> {
  const mod = (await import(join(PROJECT_ROOT, 'dist/src', module))) as Record<string, unknown>;
  const cls = mod[name];
  if (typeof cls !== 'function') throw new Error(`${module} exports no ${name}`);
  return cls as abstract new (...args: never[]) => T;
}

/** Starts a node listening on a free loopback port, configured by `env` (and nothing else). */
export async function startInProcess(env: Record<string, string>): Promise<InProcessNode> {
  const { createApp } = (await import(join(PROJECT_ROOT, 'dist/src/main.js'))) as {
    createApp(config: unknown, databaseUrl: string): Promise<NestExpressApplication>;
  };
  const { loadConfig } = (await import(join(PROJECT_ROOT, 'dist/src/config/config.js'))) as {
    loadConfig(env: Record<string, string | undefined>): { databaseUrl?: string };
  };
  const saved = { ...process.env };
  // The app reads process.env while it is created (ConfigModule): give it `env`, without what
  // the test runner's own environment could add.
  for (const k of ['DATABASE_URL', 'REDIS_URL', 'S3_BUCKET', 'STORAGE_DRIVER', 'PUBLIC_URL'])
    delete process.env[k];
  Object.assign(process.env, { LOG_LEVEL: 'warn', ...env });
  let app: NestExpressApplication;
  try {
    const config = loadConfig(process.env);
    if (!config.databaseUrl) throw new Error('in-process nodes need DATABASE_URL');
    app = await createApp(config, config.databaseUrl);
    await app.listen(0, '127.0.0.1');
  } finally {
    for (const k of Object.keys(process.env)) delete process.env[k];
    Object.assign(process.env, saved);
  }
  const { port } = app.getHttpServer().address() as AddressInfo;
  return {
    app,
    url: `http://127.0.0.1:${port}`,
    get: (cls) => app.get(cls),
    close: () => app.close(),
  };
}
