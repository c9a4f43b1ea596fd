import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { loadAll } from 'js-yaml';
import { loadConfig } from '../../src/config/config.js';
import { startServer, type TestServer } from '../support/server.js';
import { PROJECT_ROOT } from '../support/test-env.js';

const run = promisify(execFile);
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- rendered YAML; the tests check its shape
type Obj = any;

const kubectl = ['/usr/bin/kubectl', '/usr/local/bin/kubectl', '/bin/kubectl'].find((p) =>
  existsSync(p),
);
if (!kubectl && process.env.CI === 'true')
  throw new Error('kubectl is required in CI (apt-get install -y kubernetes-client)');
if (!kubectl) console.warn('kubectl is not installed: skipping the Kubernetes manifest tests');

/** Every variable the configuration reads (as deploy.spec.ts finds them). */
function configVariables(): Set<string> {
  const src = ['src/config/config.ts', 'src/main.ts']
    .map((f) => readFileSync(join(PROJECT_ROOT, f), 'utf8'))
    .join('\n');
  return new Set([...src.matchAll(/'([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)'/g)].map((m) => m[1]));
}

(kubectl ? describe : describe.skip)('deploy/kubernetes rendered with kubectl kustomize', () => {
  let docs: Obj[];
  const byKind = (kind: string): Obj => {
    const found = docs.filter((d) => d.kind === kind);
    expect({ kind, count: found.length }).toEqual({ kind, count: 1 });
    return found[0];
  };

  beforeAll(async () => {
    const { stdout } = await run(kubectl!, ['kustomize', join(PROJECT_ROOT, 'deploy/kubernetes')]);
    docs = loadAll(stdout) as Obj[];
  });

  it('has a Deployment, Service, ConfigMap, HorizontalPodAutoscaler and PodDisruptionBudget, and no Secret', () => {
    expect(docs.map((d) => `${d.apiVersion} ${d.kind}`).sort()).toEqual([
      'apps/v1 Deployment',
      'autoscaling/v2 HorizontalPodAutoscaler',
      'policy/v1 PodDisruptionBudget',
      'v1 ConfigMap',
      'v1 Service',
    ]);
  });

  it('selects the Deployment’s pods from the Service and the PodDisruptionBudget', () => {
    const dep = byKind('Deployment');
    const labels = dep.spec.template.metadata.labels;
    expect(labels['app.kubernetes.io/name']).toBe('aerugo');
    expect(dep.spec.selector.matchLabels).toEqual(labels);
    expect(byKind('Service').spec.selector).toEqual(labels);
    expect(byKind('PodDisruptionBudget').spec.selector.matchLabels).toEqual(labels);
  });

  it('runs unprivileged, with probes on the health endpoint and the port the ConfigMap listens on', () => {
    const dep = byKind('Deployment');
    const pod = dep.spec.template.spec;
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
    const [c] = pod.containers;
    expect(c.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
    });
    const port = c.ports.find((p: Obj) => p.name === 'http');
    const listen = byKind('ConfigMap').data.LISTEN_ADDRESS;
    expect(listen).toBe(`0.0.0.0:${port.containerPort}`);
    const paths = {
      startupProbe: '/api/v1/health/ready',
      readinessProbe: '/api/v1/health/ready',
      livenessProbe: '/api/v1/health/live',
    };
    for (const [probe, path] of Object.entries(paths))
      expect({ probe, get: c[probe]?.httpGet }).toEqual({ probe, get: { path, port: 'http' } });
    expect(byKind('Service').spec.ports[0].targetPort).toBe('http');
    // DATA_DIR and /tmp are the only writable places, as the root filesystem is read-only.
    expect(c.volumeMounts.map((m: Obj) => m.mountPath).sort()).toEqual(['/data', '/tmp']);
    expect(dep.spec.strategy.rollingUpdate.maxUnavailable).toBe(0);
  });

  it('takes the database, Redis, S3 and JWT secrets from the Secret, and only known variables', () => {
    const c = byKind('Deployment').spec.template.spec.containers[0];
    const fromSecret = Object.fromEntries(
      c.env
        .filter((e: Obj) => e.valueFrom?.secretKeyRef)
        .map((e: Obj) => [e.name, e.valueFrom.secretKeyRef.name]),
    );
    for (const v of ['DATABASE_URL', 'REDIS_URL', 'S3_ACCESS_KEY', 'S3_SECRET_KEY', 'JWT_SECRET'])
      expect({ v, secret: fromSecret[v] }).toEqual({ v, secret: 'aerugo-secrets' });
    expect(c.envFrom).toEqual([{ configMapRef: { name: 'aerugo-config' } }]);
    const known = configVariables();
    const names = [...c.env.map((e: Obj) => e.name), ...Object.keys(byKind('ConfigMap').data)];
    for (const n of names) expect({ n, known: known.has(n) }).toEqual({ n, known: true });
    // No secret value sits in the ConfigMap.
    for (const n of Object.keys(byKind('ConfigMap').data))
      expect(n).not.toMatch(/SECRET|PASSWORD|ACCESS_KEY|DATABASE_URL|REDIS_URL/);
  });

  it('is a configuration Aerugo accepts: several nodes on S3 and Redis', () => {
    const config = loadConfig({
      ...byKind('ConfigMap').data,
      DATABASE_URL: 'postgres://aerugo:secret@postgres:5432/aerugo',
      REDIS_URL: 'redis://redis:6379',
      S3_ACCESS_KEY: 'access',
      S3_SECRET_KEY: 'secret',
    });
    expect(config.storageDriver).toBe('s3');
    expect(config.listenPort).toBe(8080);
    expect(config.trustProxy).toBe(1);
  });

  it('scales the Deployment between 2 and 10 replicas and keeps one through disruptions', () => {
    const hpa = byKind('HorizontalPodAutoscaler');
    expect(hpa.spec.scaleTargetRef).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      name: byKind('Deployment').metadata.name,
    });
    expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(2);
    expect(hpa.spec.maxReplicas).toBeGreaterThan(hpa.spec.minReplicas);
    expect(byKind('Deployment').spec.replicas).toBeUndefined(); // the autoscaler owns the count
    expect(byKind('PodDisruptionBudget').spec.minAvailable).toBeLessThan(hpa.spec.minReplicas);
  });

  describe('the probed path', () => {
    let server: TestServer;
    beforeAll(async () => {
      server = await startServer();
    });
    afterAll(async () => {
      await server?.stop();
    });

    it('answers 200 on a healthy node', async () => {
      const c = byKind('Deployment').spec.template.spec.containers[0];
      for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe']) {
        const res = await fetch(`${server.url}${c[probe].httpGet.path}`);
        expect({ probe, status: res.status }).toEqual({ probe, status: 200 });
      }
    });
  });
});
