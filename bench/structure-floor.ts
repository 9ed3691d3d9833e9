/**
 * The structural floor of the tick-to-order path: the same hops with none of the product's
 * code. A WebSocket frame to the main thread, a NATS publish to N worker threads, one worker's
 * NATS request back, a JetStream publish awaited (the write-ahead), and a keep-alive HTTP POST
 * that a local server receives. No parsing beyond JSON, no validation, no gates, no limiter.
 *
 * `npm run bench` prints it next to each tick-to-order result, at the same tick rate, order
 * pace and worker count: the path's own cost is the difference.
 */
import http from 'node:http';
import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { WebSocketServer, WebSocket } from 'ws';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connectBus } from '../actors/bus.ts';

export type FloorStats = { p50: number; p99: number; n: number };

const workerFile = fileURLToPath(new URL('./structure-floor-worker.mjs', import.meta.url));
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
};

export async function structureFloor(natsUrl: string, o: { workers: number; tickMs: number; orderIntervalMs: number; samples: number; warmup: number }): Promise<FloorStats> {
  const nc = await connectBus({ servers: natsUrl, name: 'floor-broker' });
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: 'FLOOR', subjects: ['floor.evt.>'] });
  const js = jetstream(nc);

  const arrivals = new Map<number, number>();
  const exchange = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c));
    req.on('end', () => {
      arrivals.set(Number(body), performance.now());
      res.end('{"status":"success","data":{"order_id":"1"}}');
    });
  });
  await new Promise<void>((r) => exchange.listen(0, '127.0.0.1', r));
  const exchangePort = (exchange.address() as { port: number }).port;
  const agent = new http.Agent({ keepAlive: true });
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((r) => wss.once('listening', r));
  const serverSide = new Promise<WebSocket>((r) => wss.once('connection', r));
  const feed = new WebSocket(`ws://127.0.0.1:${(wss.address() as { port: number }).port}`);
  await new Promise((r) => feed.once('open', r));
  const socket = await serverSide;

  feed.on('message', (d: Buffer) => nc.publish('floor.md', d));
  nc.subscribe('floor.intent', {
    callback: (_e, m) => {
      void (async () => {
        const { id } = JSON.parse(new TextDecoder().decode(m.data)) as { id: number };
        await js.publish(`floor.evt.w`, m.data);
        const req = http.request({ host: '127.0.0.1', port: exchangePort, method: 'POST', path: '/orders', agent }, (res) => res.resume());
        req.end(String(id));
        m.respond(m.data);
      })();
    },
  });
  await nc.flush();

  const workers = await Promise.all(Array.from({ length: o.workers }, async (_, index) => {
    const w = new Worker(workerFile, { workerData: { url: natsUrl, index } });
    await new Promise((r) => w.once('message', r));
    return w;
  }));
  const sentAt = new Map<number, number>();
  try {
    const turn = Math.max(1, Math.round(o.orderIntervalMs / o.tickMs));
    const orders = o.samples + o.warmup;
    for (let id = 0, k = 0; k < orders; id++) {
      const who = id % turn === 0 ? k++ % o.workers : -1;
      sentAt.set(id, performance.now());
      socket.send(JSON.stringify({ id, who, last: 1500.05, ts: Date.now() }));
      await new Promise((r) => setTimeout(r, o.tickMs));
    }
    await new Promise((r) => setTimeout(r, 300));
  } finally {
    await Promise.all(workers.map(async (w) => {
      w.postMessage('close');
      await new Promise((r) => w.once('message', r));
      await w.terminate();
    }));
    feed.close();
    wss.close();
    agent.destroy();
    exchange.close();
    await jsm.streams.delete('FLOOR').catch(() => undefined);
    await nc.close();
  }
  const latencies = [...arrivals].sort(([a], [b]) => a - b).slice(o.warmup).map(([id, at]) => at - sentAt.get(id)!);
  return { p50: pct(latencies, 50), p99: pct(latencies, 99), n: latencies.length };
}
