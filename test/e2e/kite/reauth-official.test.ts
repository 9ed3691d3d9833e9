import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestClock } from '../../../actors/clock.ts';
import { createLogger } from '../../../actors/logger.ts';
import { writeTokenFile } from '../../../broker/kite/token-file.ts';
import { startKiteSim } from '../../../exchanges/kite/index.ts';
import { ist, metricsText, startE2E, strategyYaml } from '../../support/kite-harness.ts';
import { eventually } from '../../support/wait.ts';

/**
 * The failed re-auth kill trigger in Kite's official flow, through the whole system: the token
 * `orch login kite` stored dies at 06:00 IST and nobody logs in again. Until the 09:15 open
 * that is an alert (the operator has time to run `orch login kite`), not a kill; at 09:15 with
 * no valid token the kill switch goes to level 3 globally at once.
 */
test('official flow: the stored token dies at 06:00 IST, no new one by 09:15 raises kill level 3 at the open, not before', async () => {
  const clock = new TestClock(ist('2026-11-24T05:59:00'));
  // A tick every 5 s of the test clock: three quiet hours at one a second were 11,550 ticks through
  // the whole system, most of this test's CPU, and none of them is what it checks.
  const sim = await startKiteSim({ clock, seed: 12, tickIntervalMs: 5_000, logger: createLogger({ level: 'silent' }) });
  const dir = await mkdtemp(join(tmpdir(), 'orch-reauth-official-'));
  // What `orch login kite` stored at 05:58: a token minted before 06:00 dies at 06:00.
  await writeTokenFile(join(dir, 'kite-token.json'), { accessToken: sim.issueAccessToken(), userId: sim.credentials.userId, expiresAt: ist('2026-11-24T06:00:00') });
  const env = { KITE_API_KEY: sim.credentials.apiKey, KITE_API_SECRET: sim.credentials.apiSecret, KITE_API_ROOT: sim.restUrl, KITE_LOGIN_ROOT: sim.restUrl, KITE_WS_URL: sim.wsUrl };
  // Real-time steps around the events that matter; long strides across the quiet hours between.
  let step = 20;
  const e = await startE2E({ yaml: strategyYaml('dawn', { every: 2, maxOrders: 1 }), clock, system: { env, stateDir: dir }, clockStepMs: () => step });
  try {
    await eventually(() => sim.orders().length >= 1 || undefined, 'an order on the stored token', 30_000);
    await eventually(() => clock.now() > ist('2026-11-24T06:00:30') || undefined, 'past the expiry', 30_000);
    await eventually(async () => /^orch_kite_login_failures_total\{reason="[a-z_]+"\} [1-9]/m.test(await metricsText(e.sys)) || undefined, 'the dead token alerted');
    step = 5_000;
    await eventually(() => clock.now() > ist('2026-11-24T09:13:00') || undefined, 'the quiet hours', 120_000);
    step = 20;
    assert.equal(e.sys.killStore.current().global.level, 0, 'waiting for the operator\'s login is not a kill before the open');
    const killed = await eventually(() => (e.sys.killStore.current().global.level >= 3 ? e.sys.killStore.current().global : undefined), 'kill level 3 at the open', 120_000);
    assert.match(killed.reason, /^reauth failing/);
    assert.ok(clock.now() >= ist('2026-11-24T09:15:00'), 'at the open, not before');
  } finally {
    await e.stop();
    await sim.close();
    await rm(dir, { recursive: true, force: true });
  }
});
