import { ForbiddenException } from '@nestjs/common';
import type { UserPrincipal } from './principal.js';

/** Throws 403 unless the caller is a system administrator. */
export function requireSystemAdmin(p: UserPrincipal): void {
  if (!p.isAdmin) throw new ForbiddenException('only system administrators may do this');
}
