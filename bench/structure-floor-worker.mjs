// A strategy worker with no strategy: it reads each tick and, when the tick names it, sends an
// intent request. Plain JS so the floor pays no loader cost the real worker does not.
import { parentPort, workerData } from 'node:worker_threads';
import { connect } from '@nats-io/transport-node';

const nc = await connect({ servers: workerData.url, noAsyncTraces: true });
const dec = new TextDecoder();
nc.subscribe('floor.md', {
  callback: (_e, m) => {
    const tick = JSON.parse(dec.decode(m.data));
    if (tick.who === workerData.index) nc.request('floor.intent', JSON.stringify({ id: tick.id }), { timeout: 5_000 }).catch(() => undefined);
  },
});
await nc.flush();
parentPort.postMessage('ready');
parentPort.on('message', async () => {
  await nc.close();
  parentPort.postMessage('closed');
});
