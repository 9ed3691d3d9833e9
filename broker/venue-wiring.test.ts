import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ReconcileRunner } from './reconcile/runner.ts';
import type { VenueAdapter } from './venue.ts';
import { reconcileVenue } from './venue-wiring.ts';

test('a push asking for a reconciliation before the venue\'s first run completed asks for nothing (the start run reads it, under its own policy); after it, it runs; a reconnect always runs', () => {
  const runs: string[] = [];
  let passed = false;
  const reconciler = { hasPassed: () => passed, run: async (_a: VenueAdapter, trigger: string) => { runs.push(trigger); } } as unknown as ReconcileRunner;
  const venues = new Map([['kalshi' as const, { venue: 'kalshi' } as VenueAdapter]]);
  reconcileVenue(venues, reconciler, 'kalshi', 'venue_update');
  reconcileVenue(venues, reconciler, 'kalshi', 'reconnect');
  assert.deepEqual(runs, ['reconnect']);
  passed = true;
  reconcileVenue(venues, reconciler, 'kalshi', 'venue_update');
  assert.deepEqual(runs, ['reconnect', 'venue_update']);
});
