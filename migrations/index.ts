import { RegistryCore1763800000000 } from './1763800000000-registry-core.js';
import { IdentityTenancy1763810000001 } from './1763810000001-identity-tenancy.js';
import { SearchTrgm1763830000000 } from './1763830000000-search-trgm.js';
import { SessionClients1763830000001 } from './1763830000001-session-clients.js';
import { UploadLeases1764000000000 } from './1764000000000-upload-leases.js';
import { CredentialGeneration1764100000000 } from './1764100000000-credential-generation.js';
import { Outbox1764200000000 } from './1764200000000-outbox.js';
import { BlobState1764200000001 } from './1764200000001-blob-state.js';
import { PullStats1764300000000 } from './1764300000000-pull-stats.js';
import { AuditLog1764400000000 } from './1764400000000-audit-log.js';
import { Webhooks1764400000100 } from './1764400000100-webhooks.js';
import { GarbageCollection1764400000200 } from './1764400000200-garbage-collection.js';
import { Quotas1764400000201 } from './1764400000201-quotas.js';
import { ScopedKeysRobots1764400000300 } from './1764400000300-scoped-keys-robots.js';
import { RepositoryCreators1764400000301 } from './1764400000301-repository-creators.js';
import { TagHistory1764400000400 } from './1764400000400-tag-history.js';
import { Retention1764400000500 } from './1764400000500-retention.js';
import { Oidc1764400000600 } from './1764400000600-oidc.js';

/** Every migration, in order. New migrations are appended here (and run at start-up). */
export const ALL_MIGRATIONS = [
  RegistryCore1763800000000,
  IdentityTenancy1763810000001,
  SearchTrgm1763830000000,
  SessionClients1763830000001,
  UploadLeases1764000000000,
  CredentialGeneration1764100000000,
  Outbox1764200000000,
  BlobState1764200000001,
  PullStats1764300000000,
  AuditLog1764400000000,
  Webhooks1764400000100,
  GarbageCollection1764400000200,
  Quotas1764400000201,
  ScopedKeysRobots1764400000300,
  RepositoryCreators1764400000301,
  TagHistory1764400000400,
  Retention1764400000500,
  Oidc1764400000600,
];
