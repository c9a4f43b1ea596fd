import { lookup } from 'node:dns/promises';
import {
  BadRequestException,
  ForbiddenException,
  Inject,
  Injectable,
  NotFoundException,
  OnModuleInit,
} from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import type { UserPrincipal } from '../auth/principal.js';
import { type Actor, actorUserId } from '../common/actor.js';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/config.js';
import { event, type RecordedEvent } from '../events/events.js';
import { EventsService } from '../events/events.service.js';
import { AccessFactsService } from '../repos/access-facts.service.js';
import type {
  CreateWebhookDto,
  UpdateWebhookDto,
  WebhookDeliveryDto,
  WebhookDto,
} from './dto/webhooks.dto.js';
import { WebhookDispatcher } from './webhook.dispatcher.js';
import {
  isRepositoryPattern,
  matchesRepositories,
  repositoryOf,
  webhookEventsOf,
  type WebhookEventType,
} from './webhook-rules.js';
import { checkTargetUrl, firstNonPublic } from './webhook-targets.js';

interface WebhookRow {
  id: string;
  namespace: string;
  url: string;
  secret: string | null;
  events: WebhookEventType[];
  repositories: string[];
  enabled: boolean;
  created_at: Date;
  updated_at: Date;
}

interface DeliveryRow {
  id: string;
  webhook_id: string;
  event_id: string;
  event_type: WebhookEventType;
  body: Record<string, unknown>;
  state: 'pending' | 'delivered' | 'failed';
  next_attempt_at: Date;
  redelivery_of: string | null;
  created_at: Date;
  updated_at: Date;
}

/** Webhooks per namespace at most (each write's transaction reads them all). */
const MAX_WEBHOOKS_PER_NAMESPACE = 20;

function toDto(r: WebhookRow): WebhookDto {
  return {
    id: r.id,
    namespace: r.namespace,
    url: r.url,
    events: r.events,
    repositories: r.repositories,
    enabled: r.enabled,
    hasSecret: r.secret !== null,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/**
 * Webhooks of a namespace (managed by its administrators: the user themself, the organization's
 * owners and admins, system administrators) and their deliveries.
 *
 * Durability: an in-transaction subscriber of EventsService turns each event webhooks hear into
 * one `webhook_deliveries` row per enabled matching webhook, in the transaction of the write
 * itself, so a delivery exists if and only if its write committed. After the commit the local
 * dispatcher is nudged; dispatchers of every node also poll (see webhook.dispatcher.ts).
 */
@Injectable()
export class WebhooksService implements OnModuleInit {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly events: EventsService,
    private readonly facts: AccessFactsService,
    private readonly dispatcher: WebhookDispatcher,
  ) {}

  onModuleInit(): void {
    this.events.onRecord((m, e) => this.enqueue(m, e));
    for (const name of [
      'manifest.pushed',
      'manifest.deleted',
      'tag.deleted',
      'repository.deleted',
    ] as const)
      this.events.on(name, () => this.dispatcher.nudge());
  }

  // ---- the in-transaction subscriber ---------------------------------------------------------

  /** Inserts the deliveries of one event, in the transaction that records it. */
  private async enqueue(m: EntityManager, e: RecordedEvent): Promise<void> {
    const repository = repositoryOf(e);
    if (repository === undefined) return;
    const namespace = repository.split('/')[0];
    const hooks: Pick<WebhookRow, 'id' | 'events' | 'repositories'>[] = await m.query(
      `SELECT id, events, repositories FROM webhooks WHERE namespace = $1 AND enabled`,
      [namespace],
    );
    const listening = hooks.filter((h) => matchesRepositories(h.repositories, repository));
    if (!listening.length) return;
    // A push's event names the manifest's size and the tags it moved.
    const pushed = e.name === 'manifest.pushed' ? (e as RecordedEvent<'manifest.pushed'>) : null;
    const size = pushed?.payload.size;
    const movedTags = pushed?.payload.moved?.map((t) => t.tag);
    const bodies = webhookEventsOf(e, { size, movedTags });
    const values: unknown[] = [];
    const tuples: string[] = [];
    for (const body of bodies) {
      for (const h of listening) {
        if (!h.events.includes(body.type)) continue;
        const n = values.length;
        tuples.push(`($${n + 1}::uuid, $${n + 2}, $${n + 3}, $${n + 4}::jsonb)`);
        values.push(h.id, body.eventId, body.type, JSON.stringify(body));
      }
    }
    if (!tuples.length) return;
    await m.query(
      `INSERT INTO webhook_deliveries (webhook_id, event_id, event_type, body) VALUES ${tuples.join(', ')}`,
      values,
    );
  }

  // ---- permissions ---------------------------------------------------------------------------

  /**
   * The namespace (lower case) when the caller administers it (see namespaceStanding): 404 when
   * the namespace reads as unknown to the caller, 403 when the caller is not its administrator.
   */
  private async requireAdmin(p: UserPrincipal, raw: string): Promise<string> {
    const namespace = raw.toLowerCase();
    const { standing } = await this.facts.namespaceStandingOf(p, namespace);
    if (standing === 'unknown') throw new NotFoundException(`namespace "${namespace}" not found`);
    if (standing !== 'admin')
      throw new ForbiddenException(`only administrators of "${namespace}" manage its webhooks`);
    return namespace;
  }

  // ---- validation ----------------------------------------------------------------------------

  /** 400 unless the URL is an allowed target now (its name resolved and every address checked). */
  private async checkTarget(raw: string): Promise<string> {
    const allow = this.config.webhooks.allowPrivateTargets;
    const check = checkTargetUrl(raw, allow);
    if (!check.ok) throw new BadRequestException(`url: ${check.reason}`);
    if (!allow && !check.ip) {
      const host = check.url.hostname;
      // A name that does not resolve yet is accepted; it is checked again at every delivery.
      const addresses = await lookup(host, { all: true }).catch(() => []);
      const bad = firstNonPublic(addresses.map((a) => a.address));
      if (bad)
        throw new BadRequestException(
          `url: ${host} resolves to ${bad.address}, a ${bad.reason} address`,
        );
    }
    return check.url.toString();
  }

  private checkPatterns(patterns: string[] | undefined): string[] | undefined {
    if (patterns === undefined) return undefined;
    const out = patterns.map((p) =>
      p
        .trim()
        .toLowerCase()
        .replace(/^\/+|\/+$/g, ''),
    );
    const bad = out.find((p) => !isRepositoryPattern(p));
    if (bad !== undefined)
      throw new BadRequestException(
        `repositories: "${bad}" is not a repository path or pattern (lower-case segments, * and **)`,
      );
    return out;
  }

  // ---- webhooks ------------------------------------------------------------------------------

  async create(
    p: UserPrincipal,
    rawNamespace: string,
    input: CreateWebhookDto,
    actor: Actor,
  ): Promise<WebhookDto> {
    const namespace = await this.requireAdmin(p, rawNamespace);
    const url = await this.checkTarget(input.url);
    const repositories = this.checkPatterns(input.repositories) ?? [];
    const row = await this.events.transaction(async (m) => {
      const [{ n }]: { n: string }[] = await m.query(
        `SELECT count(*) AS n FROM webhooks WHERE namespace = $1`,
        [namespace],
      );
      if (Number(n) >= MAX_WEBHOOKS_PER_NAMESPACE)
        throw new BadRequestException(
          `"${namespace}" already has ${MAX_WEBHOOKS_PER_NAMESPACE} webhooks (the most it may have)`,
        );
      const [created]: WebhookRow[] = await m.query(
        `INSERT INTO webhooks (namespace, url, secret, events, repositories, enabled, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *`,
        [
          namespace,
          url,
          input.secret ?? null,
          input.events,
          repositories,
          input.enabled ?? true,
          actorUserId(actor),
        ],
      );
      await this.events.record(
        m,
        event('webhook.created', actor, {
          webhookId: created.id,
          namespace,
          events: created.events,
        }),
      );
      return created;
    });
    return toDto(row);
  }

  async list(p: UserPrincipal, rawNamespace: string): Promise<WebhookDto[]> {
    const namespace = await this.requireAdmin(p, rawNamespace);
    const rows: WebhookRow[] = await this.db.query(
      `SELECT * FROM webhooks WHERE namespace = $1 ORDER BY created_at, id`,
      [namespace],
    );
    return rows.map(toDto);
  }

  private async find(namespace: string, id: string, m?: EntityManager): Promise<WebhookRow> {
    const rows: WebhookRow[] = await (m ?? this.db).query(
      `SELECT * FROM webhooks WHERE id = $1 AND namespace = $2${m ? ' FOR UPDATE' : ''}`,
      [id, namespace],
    );
    if (!rows.length) throw new NotFoundException(`webhook ${id} not found in "${namespace}"`);
    return rows[0];
  }

  async get(p: UserPrincipal, rawNamespace: string, id: string): Promise<WebhookDto> {
    const namespace = await this.requireAdmin(p, rawNamespace);
    return toDto(await this.find(namespace, id));
  }

  async update(
    p: UserPrincipal,
    rawNamespace: string,
    id: string,
    input: UpdateWebhookDto,
    actor: Actor,
  ): Promise<WebhookDto> {
    const namespace = await this.requireAdmin(p, rawNamespace);
    const url = input.url !== undefined ? await this.checkTarget(input.url) : undefined;
    const repositories = this.checkPatterns(input.repositories);
    const row = await this.events.transaction(async (m) => {
      const cur = await this.find(namespace, id, m);
      const fields: string[] = [];
      const next = { ...cur };
      const set = <K extends keyof WebhookRow>(key: K, value: WebhookRow[K], field: string) => {
        next[key] = value;
        fields.push(field);
      };
      if (url !== undefined && url !== cur.url) set('url', url, 'url');
      if (input.secret !== undefined) set('secret', input.secret, 'secret');
      if (input.events !== undefined) set('events', input.events, 'events');
      if (repositories !== undefined) set('repositories', repositories, 'repositories');
      if (input.enabled !== undefined && input.enabled !== cur.enabled)
        set('enabled', input.enabled, 'enabled');
      const [saved]: [WebhookRow[], number] = await m.query(
        `UPDATE webhooks SET url = $2, secret = $3, events = $4, repositories = $5, enabled = $6,
                updated_at = now()
          WHERE id = $1 RETURNING *`,
        [id, next.url, next.secret, next.events, next.repositories, next.enabled],
      );
      await this.events.record(
        m,
        event('webhook.updated', actor, { webhookId: id, namespace, fields }),
      );
      return saved[0];
    });
    if (row.enabled) this.dispatcher.nudge();
    return toDto(row);
  }

  async delete(p: UserPrincipal, rawNamespace: string, id: string, actor: Actor): Promise<void> {
    const namespace = await this.requireAdmin(p, rawNamespace);
    await this.events.transaction(async (m) => {
      await this.find(namespace, id, m);
      await m.query(`DELETE FROM webhooks WHERE id = $1`, [id]);
      await this.events.record(m, event('webhook.deleted', actor, { webhookId: id, namespace }));
    });
  }

  // ---- deliveries ----------------------------------------------------------------------------

  private async deliveryDtos(rows: DeliveryRow[]): Promise<WebhookDeliveryDto[]> {
    if (!rows.length) return [];
    const attempts: {
      delivery_id: string;
      attempt: number;
      started_at: Date;
      duration_ms: number;
      status_code: number | null;
      error: string | null;
    }[] = await this.db.query(
      `SELECT delivery_id, attempt, started_at, duration_ms, status_code, error
         FROM webhook_attempts WHERE delivery_id = ANY($1::uuid[]) ORDER BY id`,
      [rows.map((r) => r.id)],
    );
    return rows.map((r) => ({
      id: r.id,
      webhookId: r.webhook_id,
      eventId: r.event_id,
      eventType: r.event_type,
      state: r.state,
      nextAttemptAt: r.state === 'pending' ? r.next_attempt_at : null,
      redeliveryOf: r.redelivery_of,
      createdAt: r.created_at,
      updatedAt: r.updated_at,
      payload: r.body,
      attempts: attempts
        .filter((a) => a.delivery_id === r.id)
        .map((a) => ({
          attempt: a.attempt,
          startedAt: a.started_at,
          durationMs: a.duration_ms,
          statusCode: a.status_code,
          error: a.error,
        })),
    }));
  }

  async deliveries(
    p: UserPrincipal,
    rawNamespace: string,
    id: string,
    page: { page: number; perPage: number },
  ): Promise<{ items: WebhookDeliveryDto[]; total: number }> {
    const namespace = await this.requireAdmin(p, rawNamespace);
    await this.find(namespace, id);
    const [rows, count]: [DeliveryRow[], { n: string }[]] = await Promise.all([
      this.db.query(
        `SELECT id, webhook_id, event_id, event_type, body, state, next_attempt_at, redelivery_of,
                created_at, updated_at
           FROM webhook_deliveries WHERE webhook_id = $1
          ORDER BY created_at DESC, id DESC OFFSET $2 LIMIT $3`,
        [id, (page.page - 1) * page.perPage, page.perPage],
      ),
      this.db.query(`SELECT count(*) AS n FROM webhook_deliveries WHERE webhook_id = $1`, [id]),
    ]);
    return { items: await this.deliveryDtos(rows), total: Number(count[0].n) };
  }

  /** Sends a delivery's event again, as a new delivery (new delivery id, same event id). */
  async redeliver(
    p: UserPrincipal,
    rawNamespace: string,
    id: string,
    deliveryId: string,
    actor: Actor,
  ): Promise<WebhookDeliveryDto> {
    const namespace = await this.requireAdmin(p, rawNamespace);
    await this.find(namespace, id);
    const row = await this.events.transaction(async (m) => {
      const [created]: DeliveryRow[] = await m.query(
        `INSERT INTO webhook_deliveries (webhook_id, event_id, event_type, body, redelivery_of)
         SELECT webhook_id, event_id, event_type, body, id FROM webhook_deliveries
          WHERE id = $1 AND webhook_id = $2
         RETURNING id, webhook_id, event_id, event_type, body, state, next_attempt_at,
                   redelivery_of, created_at, updated_at`,
        [deliveryId, id],
      );
      if (!created) throw new NotFoundException(`delivery ${deliveryId} not found`);
      await this.events.record(
        m,
        event('webhook.redelivered', actor, {
          webhookId: id,
          namespace,
          deliveryId: created.id,
          redeliveryOf: deliveryId,
        }),
      );
      return created;
    });
    this.dispatcher.nudge();
    return (await this.deliveryDtos([row]))[0];
  }
}
