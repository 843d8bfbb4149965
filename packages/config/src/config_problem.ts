import type { Message } from '@bufbuild/protobuf';
import { sourceLocationOf } from './config_locations';
import { formatLocation, type SourceLocation } from './source_location';

/**
 * One semantic problem. `error`: the config cannot run; `unsupported`: it parses and is valid
 * TorchEasyRec, but tsrec cannot run it yet; `warning`: it runs, but probably not as meant.
 */
export interface ConfigProblem {
  severity: 'error' | 'unsupported' | 'warning';
  /** Field path, e.g. "model_config.feature_groups[0].feature_names[3]". */
  path: string;
  message: string;
  /** Where the field is in the source, for configs from loadPipelineConfig. */
  location?: SourceLocation;
}

/** "<path>: <message> (<file:line:col>)", with "not supported yet" problems as written. */
export function formatProblem(p: ConfigProblem): string {
  return `${p.path || 'pipeline config'}: ${p.message}${p.location ? ` (${formatLocation(p.location)})` : ''}`;
}

/** Collects problems for one config, attaching source locations when known. */
export class ProblemSink {
  readonly problems: ConfigProblem[] = [];

  constructor(private readonly config: Message) {}

  private add(severity: ConfigProblem['severity'], path: string, message: string): void {
    const location = sourceLocationOf(this.config, path);
    this.problems.push(location ? { severity, path, message, location } : { severity, path, message });
  }

  /** The config cannot run as written. */
  error(path: string, message: string): void {
    this.add('error', path, message);
  }

  /** Valid TorchEasyRec that tsrec cannot run yet; the message says what and why. */
  unsupported(path: string, what: string, advice?: string): void {
    this.add('unsupported', path, `${what} is not supported yet by tsrec${advice ? `; ${advice}` : ''}`);
  }

  /** Runs, but probably not as meant. */
  warning(path: string, message: string, location?: SourceLocation): void {
    if (location) this.problems.push({ severity: 'warning', path, message, location });
    else this.add('warning', path, message);
  }
}
