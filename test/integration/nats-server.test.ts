import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { startNatsServer } from '../support/nats-server.ts';

test('the test helper starts a real nats-server with JetStream on a free port', async () => {
  const server = await startNatsServer();
  try {
    const nc = await connect({ servers: server.url });
    const jsm = await jetstreamManager(nc);
    const info = await jsm.getAccountInfo();
    assert.equal(typeof info.limits.max_storage, 'number');
    const sub = nc.subscribe('ping');
    const got = (async () => {
      for await (const m of sub) return m.string();
    })();
    nc.publish('ping', 'pong');
    assert.equal(await got, 'pong');
    await nc.close();
  } finally {
    await server.cleanup();
  }
});
