import { pino, type Logger, type DestinationStream } from 'pino';

/**
 * Paths pino blanks in every line. Secrets also never go into messages: code that handles
 * them logs ids, never values.
 */
export const REDACT_PATHS = [
  'password', '*.password', 'api_secret', '*.api_secret', 'apiSecret', '*.apiSecret',
  'access_token', '*.access_token', 'accessToken', '*.accessToken', 'request_token', '*.request_token',
  'totp', '*.totp', 'totpSecret', '*.totpSecret', 'privateKey', '*.privateKey', 'privateKeyPem', '*.privateKeyPem',
  'authorization', '*.authorization', 'headers.authorization', 'req.headers.authorization',
  'token', '*.token', 'secret', '*.secret', 'checksum', '*.checksum', 'enctoken', '*.enctoken',
  'refresh_token', '*.refresh_token', 'public_token', '*.public_token',
  'KALSHI-ACCESS-SIGNATURE', '*["KALSHI-ACCESS-SIGNATURE"]',
];

export type { Logger };

export function createLogger(opts: { name?: string; level?: string; destination?: DestinationStream } = {}): Logger {
  const options = {
    name: opts.name ?? 'orch',
    level: opts.level ?? process.env.ORCH_LOG_LEVEL ?? 'info',
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: { pid: process.pid },
  };
  return opts.destination ? pino(options, opts.destination) : pino(options);
}

/** One child logger per actor, carrying its id on every line. */
export function actorLogger(root: Logger, actor: string): Logger {
  return root.child({ actor });
}
