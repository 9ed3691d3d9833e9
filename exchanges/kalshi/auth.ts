import type { IncomingHttpHeaders } from 'node:http';
import type { KeyObject } from 'node:crypto';
import type { Clock } from '../../actors/clock.ts';
import { signingMessage, verifySignature } from '../../broker/kalshi/signing.ts';

/** Kalshi accepts a signature only for a few seconds around its own clock (exact window undocumented). */
export const MAX_SKEW_MS = 5_000;

export type AuthResult = { ok: true; keyId: string } | { ok: false; reason: string } | { ok: 'anonymous' };

/** Checks KALSHI-ACCESS-* headers with real RSA-PSS verification against the key's public half. */
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
    if (!verifySignature(pub, signingMessage(Number(ts), method, path), sig)) return { ok: false, reason: 'bad signature' };
    return { ok: true, keyId };
  }
}

function one(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
