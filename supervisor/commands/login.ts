import { join } from 'node:path';
import { systemClock, type Clock } from '../../actors/clock.ts';
import { parseArgs } from 'node:util';
import { catchRequestToken, exchangeRequestToken, kiteLoginUrl, writeTokenFile } from '../../broker/kite/official-login.ts';
import { KITE_TOKEN_FILE } from '../venues/kite.ts';

/**
 * `orch login kite`: Kite's official login. Prints the login URL, catches the request_token on
 * the registered redirect (http://127.0.0.1:PORT/), exchanges it and writes the token 0600 to
 * <state-dir>/kite-token.json, the file `orch start` reads its Kite session from.
 */
export async function loginKite(args: string[], env: NodeJS.ProcessEnv, out: (line: string) => void = (l) => process.stdout.write(`${l}\n`), clock: Clock = systemClock): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { port: { type: 'string' }, 'state-dir': { type: 'string' } } });
  if (positionals[0] !== 'kite') {
    out('usage: orch login kite [--port N] [--state-dir DIR]');
    return 2;
  }
  const apiKey = env.KITE_API_KEY;
  const apiSecret = env.KITE_API_SECRET;
  if (!apiKey || !apiSecret) {
    out('orch login kite: KITE_API_KEY and KITE_API_SECRET must be set');
    return 2;
  }
  const portText = values.port ?? env.KITE_REDIRECT_PORT ?? '5000';
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    out(`orch login kite: --port must be a port number (got "${portText}")`);
    return 2;
  }
  const listener = await catchRequestToken(port);
  try {
    out(`Open this URL in a browser and log in (redirect URL registered for the app: http://127.0.0.1:${listener.port}/):`);
    out(kiteLoginUrl(env.KITE_LOGIN_ROOT ?? 'https://kite.zerodha.com', apiKey));
    const requestToken = await listener.requestToken;
    const rec = await exchangeRequestToken({ apiRoot: env.KITE_API_ROOT ?? 'https://api.kite.trade', apiKey, apiSecret, requestToken, nowMs: clock.now() });
    const path = join(values['state-dir'] ?? join(process.cwd(), '.orch'), KITE_TOKEN_FILE);
    // The browser may be logged in to another account: `orch start` with KITE_USER_ID would refuse its token.
    if (env.KITE_USER_ID && rec.userId !== env.KITE_USER_ID) {
      out(`orch login kite: the browser logged in ${rec.userId}, but KITE_USER_ID is ${env.KITE_USER_ID}; nothing stored (log out of Kite in the browser and log in as ${env.KITE_USER_ID})`);
      return 1;
    }
    await writeTokenFile(path, rec);
    out(`Kite session for ${rec.userId} stored in ${path} (valid until ${new Date(rec.expiresAt).toISOString()})`);
    return 0;
  } finally {
    listener.close();
  }
}
