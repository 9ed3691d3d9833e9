import { chmod, mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { z } from 'zod';

/**
 * The day's Kite access token on disk (`.orch/kite-token.json`), 0600: written by
 * `orch login kite` (the official flow) and by the opt-in web login; read by `orch start`.
 * A reason for refusing a file names the file and what is wrong, never its token.
 */

export type TokenRecord = { accessToken: string; expiresAt: number; userId: string };

const TokenFileSchema = z.object({ accessToken: z.string().min(1), expiresAt: z.number().int(), userId: z.string().min(1) });

export type TokenFileRead =
  | { ok: true; rec: TokenRecord }
  | { ok: false; why: 'missing' | 'readable_by_others' | 'unreadable' | 'expired' | 'other_user'; detail: string };

/** The stored token if it is private, well formed, unexpired at `nowMs` and (when given) `userId`'s. */
export async function readTokenFile(path: string, o: { nowMs: number; userId?: string }): Promise<TokenFileRead> {
  let st;
  try {
    st = await stat(path);
  } catch {
    return { ok: false, why: 'missing', detail: `no token file at ${path}` };
  }
  if ((st.mode & 0o077) !== 0) {
    return { ok: false, why: 'readable_by_others', detail: `${path} is readable by others (mode ${(st.mode & 0o777).toString(8)}); refused` };
  }
  let rec: TokenRecord;
  try {
    rec = TokenFileSchema.parse(JSON.parse(await readFile(path, 'utf8')));
  } catch {
    return { ok: false, why: 'unreadable', detail: `${path} is not a token file` };
  }
  if (o.userId !== undefined && rec.userId !== o.userId) return { ok: false, why: 'other_user', detail: `${path} holds a session of ${rec.userId}, not ${o.userId}` };
  if (rec.expiresAt <= o.nowMs) return { ok: false, why: 'expired', detail: `the token in ${path} expired at ${new Date(rec.expiresAt).toISOString()}` };
  return { ok: true, rec };
}

/** Writes the token 0600 (created so, then renamed into place, so it is never briefly readable by others). */
export async function writeTokenFile(path: string, rec: TokenRecord): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(rec), { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, path);
}
