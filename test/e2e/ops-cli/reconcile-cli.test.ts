import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connectBus, encodeJson, parseMsg } from '../../../actors/bus.ts';
import { subjects } from '../../../actors/subjects.ts';
import { ReconcileReplySchema, ReconcileRequestSchema } from '../../../broker/reconcile/wire.ts';
import { runReconcile } from '../../../supervisor/commands/reconcile.ts';
import { startNatsServer } from '../../support/nats-server.ts';

/** `orch reconcile` against a stand-in broker: what it asks for, and how it reports the answer. */
test('orch reconcile --accept-external asks the broker to take unexplained positions as the baseline, and prints them', async (t) => {
  const nats = await startNatsServer();
  const broker = await connectBus({ servers: nats.url, name: 'stand-in-broker' });
  t.after(async () => {
    await broker.close();
    await nats.cleanup();
  });
  const asked: unknown[] = [];
  broker.subscribe(subjects.reconcileRequest(), {
    callback: (_e, m) => {
      const req = parseMsg(ReconcileRequestSchema, m.data);
      asked.push(req.ok ? req.value : req.error);
      m.respond(encodeJson(ReconcileReplySchema, { reports: [{
        venue: 'kite', result: 'resolved', trigger: 'operator', ts: 1,
        differences: [{ kind: 'external_position', resolution: 'baseline', venue: 'kite', symbol: 'NSE:INFY', field: 'qty', local: 2, atVenue: 4, note: '2 held outside the strategies (was 3): recorded as the baseline, never traded' }],
      }] }));
    },
  });
  await broker.flush();
  const out: string[] = [];
  const io = { out: (s: string) => out.push(s), err: (s: string) => out.push(s) };
  assert.equal(await runReconcile(['--nats', nats.url, '--accept-external'], { USER: 'ops' }, io), 0, out.join(''));
  assert.deepEqual(asked, [{ by: 'operator:ops', acceptExternal: true }]);
  assert.match(out.join(''), /external_position \[baseline\] NSE:INFY qty: local 2 venue 4 — 2 held outside the strategies/);
  assert.equal(await runReconcile(['--nats', nats.url], { USER: 'ops' }, io), 0);
  assert.deepEqual(asked[1], { by: 'operator:ops' }, 'no acceptance unless asked');
  assert.equal(await runReconcile(['--nats', nats.url, '--accept'], { USER: 'ops' }, io), 2, 'an unknown flag is a usage error');
});
