import { test } from 'node:test';
import assert from 'node:assert/strict';
import { replicasFrom } from './replicas.ts';

test('the replica count is 1 unless set, and a value JetStream cannot keep is refused naming where it came from', () => {
  assert.equal(replicasFrom(undefined, 'ORCH_NATS_REPLICAS'), 1);
  assert.equal(replicasFrom('', 'ORCH_NATS_REPLICAS'), 1);
  assert.equal(replicasFrom('3', '--nats-replicas'), 3);
  for (const bad of ['0', '6', '2.5', 'three']) {
    assert.throws(() => replicasFrom(bad, '--nats-replicas'), (e: Error) => e.message.startsWith('--nats-replicas must be an integer from 1 to 5') && e.message.includes(`"${bad}"`));
  }
});
