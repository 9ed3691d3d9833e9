import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mkdtemp } from 'node:fs/promises';
import { SystemClock } from '../../../actors/clock.ts';
import { metrics } from '../../../actors/metrics.ts';
import { startKiteSim, type KiteSim } from '../../../exchanges/kite/index.ts';
import { renderRegistry } from '../../support/registry.ts';
import { log, probe, startHarness, tripped, type Harness } from '../../support/kill-harness.ts';

/**
 * A live Kite feed goes quiet on an exchange holiday: that must not look like stale data.
 * The feed here is the built-in exchange behind a live-style account (ticks expected only
 * while NSE trades), and the system's clock is set to 10:00 IST on the day under test.
 */
class ClockAt extends SystemClock {
  private readonly offset: number;
  constructor(at: number) {
    super();
    this.offset = at - Date.now();
  }
  override now(): number {
    return Date.now() + this.offset;
  }
}

async function liveStyle(day: string, holidays: string[]): Promise<{ h: Harness; sim: KiteSim }> {
  const sim = await startKiteSim({ tickIntervalMs: 100, logger: log });
  let token = sim.issueAccessToken();
  const dir = await mkdtemp(join(tmpdir(), 'orch-holidays-'));
  const holidaysFile = join(dir, 'market-holidays.yaml');
  await writeFile(holidaysFile, `nse: [${holidays.join(', ')}]\n`);
  try {
    const h = await startHarness(renderRegistry([probe('watcher', 'NSE:INFY', {})], { killTriggers: { staleDataMs: 1000 } }), {
      clock: new ClockAt(Date.parse(`${day}T10:00:00+05:30`)),
      holidaysFile,
      kite: {
        root: sim.restUrl, wsUrl: sim.wsUrl, apiKey: sim.credentials.apiKey, accessToken: () => token,
        reauthenticate: async () => { token = sim.issueAccessToken(); }, marketHoursOnly: true,
      },
    });
    return { h, sim };
  } catch (e) {
    await sim.close();
    throw e;
  }
}

const marketOpen = async () => (await metrics.marketOpen.get()).values.find((v) => v.labels.venue === 'kite')?.value;

test('a silent live feed on a listed NSE holiday trips nothing, and orch_market_open says the market is shut', async () => {
  const { h, sim } = await liveStyle('2026-11-24', ['2026-11-24']);
  try {
    assert.equal(await marketOpen(), 0);
    sim.faults.stallSockets(3_000);
    await new Promise((r) => setTimeout(r, 2_500));
    assert.equal(h.sys.killStore.current().global.level, 0, 'no stale-data trip on a holiday');
  } finally {
    await h.close();
    await sim.close();
  }
});

test('the same silence on a trading day trips stale data (level 3)', async () => {
  const { h, sim } = await liveStyle('2026-11-23', ['2026-11-24']);
  try {
    assert.equal(await marketOpen(), 1);
    sim.faults.stallSockets(3_000);
    const trip = await tripped(h, 'global', 'stale_data');
    assert.equal(trip.entry.level, 3);
  } finally {
    await h.close();
    await sim.close();
  }
});
