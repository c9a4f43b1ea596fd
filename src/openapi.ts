import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, type OpenAPIObject, SwaggerModule } from '@nestjs/swagger';

export const API_PREFIX = 'api/v1';

/** Every route but the registry's (`/v2/`) lives under `/api/v1`. */
export function setApiPrefix(app: INestApplication): void {
  app.setGlobalPrefix(API_PREFIX, { exclude: ['v2', 'v2/{*path}'] });
}

function sortedKeys<T>(o: Record<string, T>, map: (v: T) => T = (v) => v): Record<string, T> {
  return Object.fromEntries(
    Object.keys(o)
      .sort()
      .map((k) => [k, map(o[k])]),
  );
}

/**
 * The document in a stable order, so that a change of code shows as a small diff of
 * `api/openapi.json`: paths, operations, responses and components sorted by key, wherever Nest
 * emits them in module-registration order. Schema properties and parameters keep the order the
 * code declares them in (it is deterministic, and what Swagger UI shows).
 */
export function stableDocument(doc: OpenAPIObject): OpenAPIObject {
  type Operation = { responses?: Record<string, unknown> } & Record<string, unknown>;
  const out: Record<string, unknown> = { ...doc };
  out.paths = sortedKeys(doc.paths as Record<string, Record<string, Operation>>, (item) =>
    sortedKeys(item, (op) =>
      op && typeof op === 'object' && op.responses
        ? { ...op, responses: sortedKeys(op.responses) }
        : op,
    ),
  );
  if (doc.components)
    out.components = sortedKeys(doc.components as Record<string, Record<string, unknown>>, (c) =>
      sortedKeys(c),
    );
  if (doc.tags) out.tags = [...doc.tags].sort((a, b) => (a.name < b.name ? -1 : 1));
  // The usual reading order first, then anything else by name.
  const head = ['openapi', 'info', 'servers', 'tags', 'security', 'paths', 'components'];
  const keys = [
    ...head.filter((k) => k in out),
    ...Object.keys(out)
      .filter((k) => !head.includes(k))
      .sort(),
  ];
  return Object.fromEntries(keys.map((k) => [k, out[k]])) as unknown as OpenAPIObject;
}

/**
 * Operation ids, the method names of generated clients: the controller's name without
 * "Controller", then the handler's (`ReposController.grantUser` → `reposGrantUser`).
 */
export function operationIdFactory(controllerKey: string, methodKey: string): string {
  const base = controllerKey.replace(/Controller$/, '');
  return `${base.charAt(0).toLowerCase()}${base.slice(1)}${methodKey.charAt(0).toUpperCase()}${methodKey.slice(1)}`;
}

/** The management API's OpenAPI document, as served at /api/docs-json and kept in api/openapi.json. */
export function openApiDocument(app: INestApplication): OpenAPIObject {
  const doc = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Aerugo')
      .setDescription('Aerugo container registry management API')
      .setVersion('1')
      .addBearerAuth(
        {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description: 'Access JWT from /auth/login, or an API key (ak_…)',
        },
        'jwt',
      )
      .addBasicAuth(
        { type: 'http', scheme: 'basic', description: 'User name with password or API key' },
        'basic',
      )
      .addApiKey(
        { type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'API key (ak_…)' },
        'api-key',
      )
      .build(),
    { operationIdFactory },
  );
  return stableDocument(doc);
}

/** The committed form of the document: two-space JSON with a final newline. */
export function serializeOpenApi(doc: OpenAPIObject): string {
  return `${JSON.stringify(doc, null, 2)}\n`;
}
