/** A config field that is wrong; the message names the field and how to fix it. */
export class ConfigFieldError extends Error {
  override name = 'ConfigFieldError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}
