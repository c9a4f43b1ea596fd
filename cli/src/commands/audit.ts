import type { Command } from 'commander';
import type { components } from '../generated/openapi.js';
import { formatDate } from '../output.js';
import { Runtime } from '../runtime.js';
import { limitOption } from './repos.js';

/** Rows asked for per request (the API serves at most 200). */
const AUDIT_PAGE = 200;

interface AuditOpts {
  namespace?: string;
  repository?: string;
  actor?: string;
  action?: string;
  since?: string;
  until?: string;
  limit: number;
}

export function registerAudit(program: Command): void {
  program
    .command('audit')
    .description(
      'The audit log, newest first: all of it for administrators, your organizations for their owners and admins, your own actions and namespace for everyone',
    )
    .option('--namespace <ns>', 'events on this user or organization')
    .option('--repository <ns/name>', 'events on this repository')
    .option('--actor <user>', 'events performed by this user')
    .option('--action <name>', 'an event name (manifest.pushed) or a prefix (manifest.)')
    .option('--since <time>', 'at or after this ISO 8601 date or time')
    .option('--until <time>', 'before this ISO 8601 date or time')
    .addOption(limitOption())
    .action(async (opts: AuditOpts, cmd: Command) => {
      const rt = Runtime.of(cmd);
      const api = rt.client();
      const { limit, ...filters } = opts;
      const items: components['schemas']['AuditEntryDto'][] = [];
      let cursor: string | undefined;
      let more: boolean;
      for (;;) {
        const want: number = limit > 0 ? Math.min(AUDIT_PAGE, limit - items.length) : AUDIT_PAGE;
        const page: components['schemas']['AuditPageDto'] = await api.call(
          api.client.GET('/api/v1/audit', {
            params: { query: { ...filters, limit: want, ...(cursor ? { cursor } : {}) } },
          }),
        );
        items.push(...page.items);
        more = page.nextCursor !== null;
        if (!page.nextCursor || (limit > 0 && items.length >= limit)) break;
        cursor = page.nextCursor;
      }
      if (rt.out.json) return rt.out.data(items);
      rt.out.table(
        ['TIME', 'ACTION', 'ACTOR', 'WHERE', 'TARGET'],
        items.map((e) => [
          formatDate(e.time),
          e.action,
          `${e.actor.name ?? e.actor.kind}${e.actor.address ? ` (${e.actor.address})` : ''}`,
          e.repository ?? e.namespace ?? '-',
          e.target ?? '-',
        ]),
        'No audit entries.',
      );
      if (more) rt.out.note(`${items.length} shown; --limit 0 shows all`);
    });
}
