import type { IncomingHttpHeaders } from 'node:http';
import { constants, verify, type KeyObject } from 'node:crypto';
import type { Clock } from '../../actors/clock.ts';

/** Kalshi accepts a signature only for a few seconds around its own clock (exact window undocumented). */
export const MAX_SKEW_MS = 5_000;

export type AuthResult = { ok: true; keyId: string } | { ok: false; reason: string } | { ok: 'anonymous' };

/**
 * Checks KALSHI-ACCESS-* headers as Kalshi documents them (docs/venues/kalshi.md,
 * "Authentication"): RSA-PSS with SHA-256 and a digest-length salt over
 * `timestamp_ms + METHOD + path` (path without the query), base64.
 */
export class SimAuth {
  constructor(private readonly keys: ReadonlyMap<string, KeyObject>, private readonly clock: Clock) {}

  check(headers: IncomingHttpHeaders, method: string, path: string): AuthResult {
    const keyId = one(headers['kalshi-access-key']);
    const sig = one(headers['kalshi-access-signature']);
    const ts = one(headers['kalshi-access-timestamp']);
    if (keyId === undefined && sig === undefined && ts === undefined) return { ok: 'anonymous' };
    if (!keyId || !sig || !ts) return { ok: false, reason: 'incomplete KALSHI-ACCESS-* headers' };
    const pub = this.keys.get(keyId);
    if (!pub) return { ok: false, reason: 'unknown key id' };
    if (!/^\d{10,16}$/.test(ts)) return { ok: false, reason: 'timestamp must be unix milliseconds' };
    if (Math.abs(this.clock.now() - Number(ts)) > MAX_SKEW_MS) return { ok: false, reason: 'stale timestamp' };
    if (!validSignature(pub, `${ts}${method.toUpperCase()}${path}`, sig)) return { ok: false, reason: 'bad signature' };
    return { ok: true, keyId };
  }
}

function validSignature(key: KeyObject, message: string, signatureB64: string): boolean {
  try {
    return verify('sha256', Buffer.from(message, 'utf8'), {
      key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
    }, Buffer.from(signatureB64, 'base64'));
  } catch {
    return false;
  }
}

function one(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
