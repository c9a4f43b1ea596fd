// `npm run openapi`: writes the management API's OpenAPI document to api/openapi.json, the file
// the CLI and the web UI build their clients from. The Nest application is created in preview
// mode (modules and routes resolved, no provider instantiated), so no database, storage or cache
// is needed. `--check` only compares (exit 1 when the file is out of date); `--stdout` prints.
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AppModule } from '../src/app.module.js';
import { openApiDocument, serializeOpenApi, setApiPrefix } from '../src/openapi.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const OPENAPI_FILE = join(ROOT, 'api', 'openapi.json');

export async function buildOpenApi(): Promise<string> {
  const app = await NestFactory.create(
    // Never connected to: preview mode instantiates no provider.
    AppModule.forRoot({ databaseUrl: 'postgres://preview.invalid/aerugo', databasePoolSize: 1 }),
    { preview: true, logger: false, abortOnError: false },
  );
  try {
    setApiPrefix(app);
    return serializeOpenApi(openApiDocument(app));
  } finally {
    await app.close();
  }
}

async function main(): Promise<void> {
  const text = await buildOpenApi();
  if (process.argv.includes('--stdout')) {
    process.stdout.write(text);
    return;
  }
  if (process.argv.includes('--check')) {
    let committed = '';
    try {
      committed = readFileSync(OPENAPI_FILE, 'utf8');
    } catch {
      // missing: out of date
    }
    if (committed !== text) {
      process.stderr.write(
        'api/openapi.json is out of date: run `npm run openapi` and commit it\n',
      );
      process.exit(1);
    }
    return;
  }
  mkdirSync(dirname(OPENAPI_FILE), { recursive: true });
  writeFileSync(OPENAPI_FILE, text);
  process.stdout.write(`wrote ${OPENAPI_FILE}\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
    process.exit(1);
  });
}
