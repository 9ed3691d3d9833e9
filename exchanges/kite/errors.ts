import type { ZodError } from 'zod';

/** Kite error types the sim emits, with the HTTP status the official clients expect for each. */
export type KiteErrorType =
  | 'TokenException' | 'UserException' | 'OrderException' | 'InputException' | 'MarginException'
  | 'HoldingException' | 'NetworkException' | 'DataException' | 'GeneralException' | 'PermissionException';

export class KiteHttpError extends Error {
  constructor(
    readonly status: number,
    readonly errorType: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
  envelope(): { status: 'error'; message: string; error_type: string; data: null } {
    return { status: 'error', message: this.message, error_type: this.errorType, data: null };
  }
}

export const inputError = (message: string) => new KiteHttpError(400, 'InputException', message);
export const tokenError = (message = 'Incorrect `api_key` or `access_token`.') => new KiteHttpError(403, 'TokenException', message);

/** Names the first offending field, as Kite's own messages do. */
export function zodToInputError(err: ZodError): KiteHttpError {
  const issue = err.issues[0];
  const field = issue?.path.join('.') || 'body';
  return inputError(`Invalid \`${field}\`: ${issue?.message ?? 'invalid value'}.`);
}
