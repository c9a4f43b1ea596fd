import { RegistryError } from './errors.js';

/** Repository name grammar of the OCI Distribution Specification. */
const NAME_COMPONENT = '[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*';
export const REPOSITORY_NAME = new RegExp(`^${NAME_COMPONENT}(?:/${NAME_COMPONENT})*$`);
export const TAG = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
export const MAX_NAME_LENGTH = 255;

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
