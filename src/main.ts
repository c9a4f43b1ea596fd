import './node-version.js';
import 'reflect-metadata';
import { Logger, ShutdownSignal, ValidationPipe } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { SwaggerModule } from '@nestjs/swagger';
import express from 'express';
import cluster from 'node:cluster';
import type { Server as HttpsServer } from 'node:https';
import { AppModule } from './app.module.js';
import { primaryLimiters } from './auth/node-limiters.js';
import { answerMetricsAsWorker, nodeMetricsAsPrimary } from './cluster/cluster-metrics.js';
import { listenAsWorker, supervise, WORKER_DATABASE_URL } from './cluster/cluster.js';
import { HttpErrorFilter } from './common/http-error.filter.js';
import { isUtf8Body, rejectMalformedText, TextInputPipe } from './common/text-input.js';
import { applyHttpLimits, bodyDeadline } from './http-limits.js';
import { ConfigError, loadConfig, type AppConfig } from './config/config.js';
import { DbRetryInterceptor } from './database/db-retry.interceptor.js';
import {
  describeCertificate,
  readTlsMaterial,
  watchTlsFiles,
  type TlsMaterial,
} from './config/tls.js';
import {
  startEmbeddedPostgres,
  type EmbeddedPostgresHandle,
} from './database/embedded-postgres.js';
import { httpObserver } from './observability/http-observer.js';
import { createRootLogger, NestPinoLogger } from './observability/logger.js';
import { publicMetricsRoute, startMetricsListener } from './observability/metrics-endpoint.js';
import { API_PREFIX, openApiDocument, setApiPrefix } from './openapi.js';
import { registryDispatch } from './registry/registry-dispatch.js';
import { RegistryErrorFilter } from './registry/registry-error.filter.js';
import { mountWebUi } from './web-ui.js';

export async function createApp(
  config: AppConfig,
  databaseUrl: string,
  tls?: TlsMaterial,
  logger?: NestPinoLogger,
): Promise<NestExpressApplication> {
  const log =
    logger ?? new NestPinoLogger(await createRootLogger(config.logLevel, config.logFormat));
  // HTTPS when TLS_CERT_FILE/TLS_KEY_FILE are set. HTTP/1.1 only: Express (Nest's HTTP adapter)
  // swaps node:http's request/response prototypes into every request, and the node:http2
  // compatibility objects fail on them (README "TLS").
  const app = await NestFactory.create<NestExpressApplication>(
    AppModule.forRoot({ databaseUrl, databasePoolSize: config.databasePoolSize }),
    {
      bodyParser: false,
      logger: log,
      ...(tls ? { httpsOptions: { cert: tls.cert, key: tls.key } } : {}),
    },
  );
  // First: every request is timed, counted (GET /metrics) and logged once when it ends.
  app.use(httpObserver(log.pino));
  app.use('/metrics', publicMetricsRoute(config.metrics));
  // A path or query string that does not decode to valid UTF-8 without NUL is refused before
  // routing (in the registry's error format under /v2/, see HttpErrorFilter).
  app.use(rejectMalformedText);
  app.use(bodyDeadline(config.http));
  // The registry (`/v2/`) is served here, ahead of the layers below that never apply to it and of
  // Nest's router (see registry-dispatch.ts).
  app.use(registryDispatch(app));
  // The Docker token realm is `/auth/token`, outside the API prefix: it is the same endpoint as
  // `/api/v1/auth/token` (also needing the body parsers below), so the path is rewritten to it.
  app.use((req: express.Request, _res: express.Response, next: express.NextFunction) => {
    if (req.url === '/auth/token' || req.url.startsWith('/auth/token?'))
      req.url = `/${API_PREFIX}${req.url}`;
    next();
  });
  // The web UI (dist/web) at `/`, outside /v2/, /api/ and /auth/.
  mountWebUi(app);
  // Registry bodies (blobs, manifests) are streamed or read raw; only the REST API parses JSON/forms.
  app.use(`/${API_PREFIX}`, express.json({ limit: '1mb', verify: isUtf8Body }));
  app.use(
    `/${API_PREFIX}`,
    express.urlencoded({ extended: false, limit: '64kb', verify: isUtf8Body }),
  );
  // Behind a load balancer req.ip is the client's only when the proxies are trusted (TRUST_PROXY).
  app.set('trust proxy', config.trustProxy);
  app.set('etag', false);
  app.set('x-powered-by', false);
  setApiPrefix(app);
  app.useGlobalPipes(
    new TextInputPipe(),
    new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true }),
  );
  // Every error is answered by one filter (OCI errors under /v2/, `{…, code}` elsewhere), and a
  // GET or HEAD whose database connection was lost runs again.
  app.useGlobalFilters(new HttpErrorFilter(new RegistryErrorFilter()));
  app.useGlobalInterceptors(new DbRetryInterceptor());
  const doc = openApiDocument(app);
  SwaggerModule.setup('api/docs', app, doc, { jsonDocumentUrl: 'api/docs-json' });
  // With TLS, SIGHUP reloads the certificate (src/config/tls.ts) instead of stopping the node.
  app.enableShutdownHooks(
    tls ? Object.values(ShutdownSignal).filter((s) => s !== ShutdownSignal.SIGHUP) : undefined,
  );
  return app;
}

/** The ports this node listens on (the embedded PostgreSQL must not pick one of them). */
function ownPorts(config: AppConfig): number[] {
  return [config.listenPort, ...(config.metrics.address ? [config.metrics.address.port] : [])];
}

async function main(): Promise<void> {
  // Until the configuration is read, messages go out as JSON at the default level.
  Logger.overrideLogger(new NestPinoLogger(await createRootLogger('log', 'json')));
  const logger = new Logger('Aerugo');
  let config: AppConfig;
  let tls: TlsMaterial | undefined;
  try {
    config = loadConfig();
    tls = config.tls ? readTlsMaterial(config.tls) : undefined;
  } catch (e) {
    if (e instanceof ConfigError) {
      logger.error(e.message);
      process.exit(2);
    }
    throw e;
  }
  const rootLogger = new NestPinoLogger(await createRootLogger(config.logLevel, config.logFormat));
  Logger.overrideLogger(rootLogger);
  if (config.workers > 1 && cluster.isPrimary) return runPrimary(config, logger);
  const workerDatabaseUrl = cluster.isWorker ? process.env[WORKER_DATABASE_URL] : undefined;
  if (workerDatabaseUrl) {
    listenAsWorker();
    answerMetricsAsWorker();
  }
  let embedded: EmbeddedPostgresHandle | undefined;
  let databaseUrl = workerDatabaseUrl ?? config.databaseUrl;
  if (!databaseUrl) {
    embedded = await startEmbeddedPostgres({
      dataDir: config.dataDir,
      pgDir: process.env.EMBEDDED_PG_DIR || undefined,
      port: config.embeddedPostgresPort,
      avoidPorts: ownPorts(config),
    });
    databaseUrl = embedded.url;
  }
  const app = await createApp(config, databaseUrl, tls, rootLogger).catch(async (e: unknown) => {
    await embedded?.stop().catch(() => undefined);
    throw e;
  });
  const stopTlsWatch =
    config.tls &&
    watchTlsFiles(app.getHttpServer() as HttpsServer, config.tls, {
      log: (m) => logger.log(m),
      error: (m) => logger.error(m),
    });
  const shutdown = async (signal: string) => {
    logger.log(`${signal} received, shutting down`);
    stopTlsWatch?.();
    metricsListener?.close();
    await app.close().catch(() => undefined);
    await embedded?.stop().catch(() => undefined);
    process.exit(0);
  };
  let metricsListener: import('node:http').Server | undefined;
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
  // Start-up checks (e.g. the bootstrap administrator) run here; a refusal stops the node cleanly.
  await app.listen(config.listenPort, config.listenHost).catch(async (e: unknown) => {
    await app.close().catch(() => undefined);
    await embedded?.stop().catch(() => undefined);
    throw e;
  });
  applyHttpLimits(app.getHttpServer(), config.http);
  const metricsAddress = config.metrics.address;
  if (metricsAddress) {
    metricsListener = await startMetricsListener({ ...config.metrics, address: metricsAddress });
    logger.log(
      `Metrics on http://${metricsAddress.host}:${metricsAddress.port}/metrics${config.metrics.token ? ' (bearer token required)' : ''}`,
    );
  }
  if (tls) logger.log(`Serving HTTPS with ${describeCertificate(tls.leaf)}`);
  logger.log(
    `Aerugo listening on ${tls ? 'https' : 'http'}://${config.listenHost}:${config.listenPort} (storage: ${config.storageDriver}, database: ${embedded ? 'embedded PostgreSQL' : 'DATABASE_URL'})`,
  );
}

/**
 * The primary process of a node with several workers (WORKERS, src/cluster/cluster.ts): it starts
 * the embedded PostgreSQL when there is one, then the workers, which serve everything.
 */
async function runPrimary(config: AppConfig, logger: Logger): Promise<void> {
  let embedded: EmbeddedPostgresHandle | undefined;
  let databaseUrl = config.databaseUrl;
  if (!databaseUrl) {
    embedded = await startEmbeddedPostgres({
      dataDir: config.dataDir,
      pgDir: process.env.EMBEDDED_PG_DIR || undefined,
      port: config.embeddedPostgresPort,
      avoidPorts: ownPorts(config),
    });
    databaseUrl = embedded.url;
  }
  // With TLS, SIGHUP reloads the certificate in every worker.
  if (config.tls)
    process.on('SIGHUP', () => {
      for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGHUP');
    });
  supervise({
    workers: config.workers,
    databaseUrl,
    shared: primaryLimiters(config),
    metrics: nodeMetricsAsPrimary(),
    log: (m) => logger.log(m),
    error: (m) => logger.error(m),
    stopped: async (code) => {
      await embedded?.stop().catch(() => undefined);
      process.exit(code);
    },
  });
  logger.log(
    `Aerugo starting ${config.workers} workers on ${config.tls ? 'https' : 'http'}://${config.listenHost}:${config.listenPort} (database: ${embedded ? 'embedded PostgreSQL' : 'DATABASE_URL'})`,
  );
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  main().catch((e: unknown) => {
    new Logger('Aerugo').error(e instanceof Error ? e.message : String(e));
    process.exit(1);
  });
}
