import { eventually } from '../../support/wait.ts';
export { eventually };
/** Shared test helpers: a quiet sim on a TestClock and the full browser-less login flow. */
import { generateSync } from 'otplib';
import { TestClock } from '../../../actors/clock.ts';
import { createLogger } from '../../../actors/logger.ts';
import { startKiteSim, type KiteSim, type KiteSimOptions } from '../../../exchanges/kite/index.ts';

export const quietLogger = () => createLogger({ name: 'kite-sim-test', level: 'silent' });

export async function startTestSim(opts: KiteSimOptions = {}): Promise<{ sim: KiteSim; clock: TestClock }> {
  const clock = (opts.clock as TestClock | undefined) ?? new TestClock();
  const sim = await startKiteSim({ seed: 7, logger: quietLogger(), ...opts, clock });
  return { sim, clock };
}

export function totpNow(sim: KiteSim, clock: TestClock): string {
  return generateSync({ secret: sim.credentials.totpSecret, epoch: Math.floor(clock.now() / 1000) });
}

/** password → TOTP → 302 to the redirect URL; returns the request_token from its query. */
export async function loginForRequestToken(sim: KiteSim, clock: TestClock): Promise<string> {
  const { userId, password } = sim.credentials;
  const login = await fetch(`${sim.restUrl}/api/login`, {
    method: 'POST',
    body: new URLSearchParams({ user_id: userId, password }),
  });
  const loginJson = (await login.json()) as { status: string; data: { request_id: string } };
  if (loginJson.status !== 'success') throw new Error(`login failed: ${JSON.stringify(loginJson)}`);
  const twofa = await fetch(`${sim.restUrl}/api/twofa`, {
    method: 'POST',
    redirect: 'manual',
    body: new URLSearchParams({ user_id: userId, request_id: loginJson.data.request_id, twofa_value: totpNow(sim, clock), twofa_type: 'totp' }),
  });
  if (twofa.status !== 302) throw new Error(`twofa answered ${twofa.status}: ${await twofa.text()}`);
  const location = new URL(twofa.headers.get('location')!);
  const token = location.searchParams.get('request_token');
  if (!token) throw new Error(`no request_token in ${location}`);
  return token;
}

/** Raw Kite REST call with the v3 header, for wire-level assertions the client hides. */
export async function kiteFetch(sim: KiteSim, path: string, init: RequestInit & { token?: string } = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set('X-Kite-Version', '3');
  if (init.token) headers.set('Authorization', `token ${sim.credentials.apiKey}:${init.token}`);
  return fetch(`${sim.restUrl}${path}`, { ...init, headers });
}


/**
 * Connects an official KiteTicker and waits for it. Its 5 s read-timeout interval is never
 * cleared by disconnect(), so it is unref'd here: it cannot hold the test process open.
 */
export async function connectTicker(ticker: { on(event: 'connect', fn: () => void): void; connect(): void }): Promise<void> {
  let connected = false;
  ticker.on('connect', () => (connected = true));
  const realSetInterval = globalThis.setInterval;
  globalThis.setInterval = ((fn: () => void, ms?: number) => realSetInterval(fn, ms).unref()) as typeof setInterval;
  try {
    ticker.connect();
    await eventually(() => connected, 'ticker connect');
  } finally {
    globalThis.setInterval = realSetInterval;
  }
}
