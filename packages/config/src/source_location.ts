/** A position in a config source: file name (or `<text>`), 1-based line and column. */
export interface SourceLocation {
  file: string;
  line: number;
  column: number;
}

/** Formats a location as `file:line:column`. */
export function formatLocation(loc: SourceLocation): string {
  return `${loc.file}:${loc.line}:${loc.column}`;
}
