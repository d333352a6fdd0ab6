/** Positional parameters for a statement built piece by piece. */
export class Params {
  readonly values: unknown[] = [];

  /** Adds a value and returns its placeholder, with a cast when given (`$3::text[]`). */
  add(value: unknown, cast?: string): string {
    this.values.push(value);
    return cast ? `$${this.values.length}::${cast}` : `$${this.values.length}`;
  }
}

/** A schema name safe to splice into SQL (validated at creation, then quoted). */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
