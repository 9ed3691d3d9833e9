import { test } from 'node:test';
import assert from 'node:assert/strict';
import { wantedInstruments } from './instruments.ts';

test('each instrument is subscribed once, in the richest mode any running strategy asks for (none named: the venue default)', () => {
  const w = wantedInstruments([
    { venue: 'kite', enabled: true, instruments: ['NSE:INFY', 'NSE:TCS'], tickMode: 'ltp' },
    { venue: 'kite', enabled: true, instruments: ['NSE:INFY'], tickMode: 'full' },
    { venue: 'kite', enabled: true, instruments: ['NSE:SBIN'] },
    { venue: 'kite', enabled: false, instruments: ['NSE:ITC'], tickMode: 'full' },
    { venue: 'kalshi', enabled: true, instruments: ['KXFED-26DEC-T4.00'] },
  ], 'kite');
  assert.deepEqual([...w], [['NSE:INFY', 'full'], ['NSE:SBIN', undefined], ['NSE:TCS', 'ltp']]);
});
