import { createHash } from 'node:crypto';

/**
 * Kite carries at most 20 alphanumeric characters of our own in an order's `tag`, and that tag
 * is the only handle we have on an order whose placement timed out. Intent ids (UUIDs, ULIDs)
 * do not fit, so the tag is a digest of the id: 'i' + 19 base-36 characters ≈ 98 bits, which
 * makes a collision among a day's few thousand orders practically impossible (~1e-23).
 * Lower case only: Kite's tag charset and case handling are not documented (docs/venues/kite.md, "REST shapes").
 */
export const TAG_PREFIX = 'i';
export const TAG_LENGTH = 20;
const DIGEST_CHARS = TAG_LENGTH - TAG_PREFIX.length;
const TAG_RE = /^i[0-9a-z]{19}$/;

export function intentTag(intentId: string): string {
  if (intentId.length === 0) throw new Error('intentTag: intent id must not be empty');
  const digest = createHash('sha256').update(intentId, 'utf8').digest();
  // 13 bytes = 104 bits, enough for 19 base-36 digits (36^19 ≈ 2^98.2).
  let n = 0n;
  for (const b of digest.subarray(0, 13)) n = (n << 8n) | BigInt(b);
  const body = (n % 36n ** BigInt(DIGEST_CHARS)).toString(36).padStart(DIGEST_CHARS, '0');
  return TAG_PREFIX + body;
}

export type ParsedTag = { digest: string };

/**
 * Recognises our tags among the orders of the day (manual orders and other apps' orders carry
 * their own tags or none). Case-insensitive in case the venue upper-cases what it stores.
 */
export function parseTag(tag: string | null | undefined): ParsedTag | undefined {
  if (typeof tag !== 'string') return undefined;
  const t = tag.toLowerCase();
  return TAG_RE.test(t) ? { digest: t.slice(TAG_PREFIX.length) } : undefined;
}

/** Whether a venue order's tag (or one of its `tags`) belongs to this intent. */
export function tagMatches(tag: string | null | undefined, intentId: string): boolean {
  const p = parseTag(tag);
  return p !== undefined && TAG_PREFIX + p.digest === intentTag(intentId);
}
