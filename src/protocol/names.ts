import { SlsError } from './errors.js';

// SLS naming rules: lowercase letters, digits and hyphens for projects (3-63, alphanumeric at both ends); logstores
// also allow underscores. Names are used as folder names in the data directory, so the rule is also what keeps a
// name from escaping it.
const PROJECT_NAME = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;
const LOGSTORE_NAME = /^[a-z0-9][a-z0-9_-]{1,61}[a-z0-9]$/;

export function isValidProjectName(name: string): boolean {
  return PROJECT_NAME.test(name);
}

export function checkProjectName(name: unknown): string {
  if (typeof name !== 'string' || !PROJECT_NAME.test(name)) {
    throw new SlsError(
      'ProjectInfoInvalid',
      `invalid project name ${JSON.stringify(name)}: use 3-63 lowercase letters, digits and hyphens, starting and ending with a letter or digit`,
    );
  }
  return name;
}

export function checkLogstoreName(name: unknown): string {
  if (typeof name !== 'string' || !LOGSTORE_NAME.test(name)) {
    throw new SlsError(
      'LogStoreInfoInvalid',
      `invalid logstore name ${JSON.stringify(name)}: use 3-63 lowercase letters, digits, hyphens and underscores, starting and ending with a letter or digit`,
    );
  }
  return name;
}
