import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TestClock } from '../../../actors/clock.ts';
import { ist, metricsText, startWithSim, strategyYaml } from '../../support/kite-harness.ts';
import { eventually } from '../../support/wait.ts';

/**
 * The failed re-auth kill trigger, end to end: a live account whose password was changed
 * behind the system's back. The token dies at 06:00 IST, every login after that fails, and
 * after the third consecutive failure the kill switch goes to level 3 globally: the strategies
 * are halted and nothing more reaches the exchange, instead of every intent failing one by one.
 */
test('logins failing after the 06:00 IST expiry raise kill level 3 globally, and no order reaches the exchange after it', async () => {
  const clock = new TestClock(ist('2026-11-24T05:58:00'));
  const e = await startWithSim({ clock, yaml: strategyYaml('dawn', { every: 5, maxOrders: 200, side: 'ALTERNATE' }) });
  try {
    await eventually(() => e.sim.orders().length >= 1 || undefined, 'an order before the expiry', 30_000);
    // The account's password changed: every login from now on fails at the password step.
    (e.sim.credentials as { password: string }).password = 'changed-by-the-account-owner';

    const killed = await eventually(() => (e.sys.killStore.current().global.level >= 3 ? e.sys.killStore.current().global : undefined), 'kill level 3 after failed logins', 90_000);
    assert.equal(killed.level, 3);
    assert.match(killed.reason, /^reauth failing: 3 against limit 3/);
    assert.ok(clock.now() > ist('2026-11-24T06:00:00'), 'raised only after the token died');
    // Counted by reason (the scheduled renewal, a request that found the token dead): all of them.
    const failures = [...(await metricsText(e.sys)).matchAll(/^orch_kite_login_failures_total\{reason="[a-z_]+"\} (\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
    assert.ok(failures >= 3, `login failures counted: ${failures}`);

    // The strategy is told: its health says halted.
    await eventually(async () => ((await e.sys.supervisor.view()).find((a) => a.id === 'dawn')?.health?.state === 'halted') || undefined, 'the strategy halted');
    const atKill = e.sim.orders().length;
    const repliesAtKill = e.replies.length;
    // Time goes on and ticks keep coming; the strategy would have placed many more.
    const until_ = clock.now() + 60_000;
    await eventually(() => clock.now() > until_ || undefined, 'a minute of clock time after the kill', 30_000);
    assert.equal(e.sim.orders().length, atKill, 'no order reached the exchange after the kill');
    const after = e.replies.slice(repliesAtKill);
    assert.ok(after.every((r) => r.status === 'denied'), JSON.stringify(after.filter((r) => r.status !== 'denied')));
  } finally {
    await e.stop();
  }
});
