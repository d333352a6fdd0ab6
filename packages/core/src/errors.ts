/**
 * The one error class of convokit. Every failure a caller can act on carries a `code` from a
 * small closed set and `details` saying what was wrong and where.
 */
export const ERROR_CODES = [
  'VALIDATION',
  'NOT_FOUND',
  'CONFLICT',
  'ACCESS_DENIED',
  'EXPIRED',
  'LIMIT',
  'LOCKED',
  'STORAGE',
  'UNSUPPORTED',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export type ErrorDetails = Record<string, unknown>;

/** Branded so that `ConvokitError.is` works across package copies (ESM and CJS builds each get one). */
const BRAND = Symbol.for('convokit.error');

export interface ConvokitErrorJSON {
  name: 'ConvokitError';
  code: ErrorCode;
  message: string;
  details: ErrorDetails;
}

export class ConvokitError extends Error {
  override readonly name = 'ConvokitError';
  readonly code: ErrorCode;
  readonly details: ErrorDetails;
  readonly [BRAND] = true;

  constructor(code: ErrorCode, message: string, details: ErrorDetails = {}, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = details;
  }

  /** True for any ConvokitError, whichever copy of this package created it. */
  static is(value: unknown, code?: ErrorCode): value is ConvokitError {
    if (typeof value !== 'object' || value === null || (value as Record<symbol, unknown>)[BRAND] !== true) {
      return false;
    }
    return code === undefined || (value as ConvokitError).code === code;
  }

  /** Wraps an unknown failure of a storage driver, keeping the original as `cause`. */
  static storage(message: string, cause: unknown, details: ErrorDetails = {}): ConvokitError {
    if (ConvokitError.is(cause)) return cause;
    const reason = cause instanceof Error ? cause.message : String(cause);
    return new ConvokitError('STORAGE', `${message}: ${reason}`, details, { cause });
  }

  /** The shape that crosses a wire (MCP, HTTP): code, message and details, never a stack. */
  toJSON(): ConvokitErrorJSON {
    return { name: 'ConvokitError', code: this.code, message: this.message, details: this.details };
  }
}
