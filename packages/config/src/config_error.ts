import { formatLocation, type SourceLocation } from './source_location';

/** One syntax or schema problem found while reading a config, or one edit problem. */
export interface ConfigIssue {
  /** What is wrong, e.g. "unknown field 'batch_sise'". */
  message: string;
  /** Dotted path of the message that holds the problem ('' for the root). */
  path: string;
  location?: SourceLocation;
  /** A replacement name, shown as "did you mean '...'?". */
  suggestion?: string;
  /** Extra advice appended after the location. */
  hint?: string;
}

/** Formats an issue as "<message> in <path> at <file:line:col> — did you mean '<x>'?". */
export function formatIssue(issue: ConfigIssue): string {
  let s = `${issue.message} in ${issue.path === '' ? 'the pipeline config' : issue.path}`;
  if (issue.location) s += ` at ${formatLocation(issue.location)}`;
  if (issue.suggestion !== undefined) s += ` — did you mean '${issue.suggestion}'?`;
  if (issue.hint !== undefined) s += ` — ${issue.hint}`;
  return s;
}

const MAX_LISTED = 50;

/** Thrown by the loader and by editConfig; `issues` lists every problem found. */
export class ConfigError extends Error {
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[]) {
    const lines = issues.slice(0, MAX_LISTED).map(formatIssue);
    if (issues.length > MAX_LISTED) lines.push(`... and ${issues.length - MAX_LISTED} more`);
    super(lines.join('\n'));
    this.name = 'ConfigError';
    this.issues = issues;
  }
}
