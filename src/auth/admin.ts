import { ForbiddenException } from '@nestjs/common';
import type { Principal } from './principal.js';

/** Throws 403 unless the caller is a system administrator. */
export function requireSystemAdmin(p: Principal): void {
  if (!p.isAdmin) throw new ForbiddenException('only system administrators may do this');
}
