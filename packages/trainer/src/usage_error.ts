/**
 * A mistake of the caller (bad flag, bad config, a model_dir that would be overwritten): the CLI
 * prints its one-line message and exits with status 2. Everything else is a runtime failure
 * (status 1).
 */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
