import { MAX_REPOSITORY_NAME_LENGTH, REPOSITORY_PATH } from '../common/name-grammar.js';
import { RegistryError } from './errors.js';

/** Repository names follow the one grammar of common/name-grammar.ts. */
export const REPOSITORY_NAME = REPOSITORY_PATH;
export const TAG = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
export const MAX_NAME_LENGTH = MAX_REPOSITORY_NAME_LENGTH;

export function isValidRepositoryName(name: string): boolean {
  return name.length <= MAX_NAME_LENGTH && REPOSITORY_NAME.test(name);
}

export function assertRepositoryName(name: string): void {
  if (!isValidRepositoryName(name)) {
    throw new RegistryError('NAME_INVALID', 'invalid repository name', { name });
  }
}

export function isValidTag(tag: string): boolean {
  return TAG.test(tag);
}

export function assertTag(tag: string): void {
  if (!isValidTag(tag)) {
    throw new RegistryError('MANIFEST_INVALID', 'invalid tag', { tag });
  }
}
