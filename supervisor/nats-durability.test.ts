import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clusterDurabilityFile, describeDurability, supportsSyncAlways } from './nats-durability.ts';

test('sync_interval: always exists from nats-server 2.10 on', () => {
  assert.equal(supportsSyncAlways('2.9.10'), false);
  assert.equal(supportsSyncAlways('v2.10.22'), true);
  assert.equal(supportsSyncAlways('2.12.1'), true);
});

test('the start-up line says which guarantee the server gives', () => {
  const plain = 'jetstream {\n  max_file_store: 4GB\n}\n';
  const always = 'jetstream {\n  sync_interval: always\n}\n';
  assert.equal(describeDurability('2.9.10', plain).guarantee, 'periodic_flush');
  assert.match(describeDurability('2.9.10', always).message, /this one cannot/, 'the setting is not honoured before 2.10');
  assert.equal(describeDurability('2.10.22', always).guarantee, 'fsync_each_write');
  assert.equal(describeDurability('2.10.22', '# sync_interval: always\n').guarantee, 'periodic_flush', 'a commented line does not count');
  assert.match(describeDurability('2.10.22', plain).message, /set sync_interval: always/);
  assert.equal(describeDurability('2.10.22', undefined).guarantee, 'unknown');
});

test('a cluster node includes the flush-before-ack file where its nats-server has the setting, the 2.9 one otherwise', async () => {
  const { readFile } = await import('node:fs/promises');
  assert.equal(clusterDurabilityFile('2.9.10'), 'durability-2.9.conf');
  assert.equal(clusterDurabilityFile('v2.10.22'), 'durability-2.10.conf');
  const dir = new URL('../deploy/nats/', import.meta.url);
  const newer = await readFile(new URL(clusterDurabilityFile('2.10.0'), dir), 'utf8');
  assert.equal(describeDurability('2.10.0', newer).guarantee, 'fsync_each_write');
  const older = await readFile(new URL(clusterDurabilityFile('2.9.10'), dir), 'utf8');
  assert.equal(describeDurability('2.9.10', older).guarantee, 'periodic_flush', 'a 2.9 node is given no setting it would refuse');
});
