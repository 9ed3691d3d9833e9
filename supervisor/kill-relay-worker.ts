/**
 * The kill relay's own thread (supervisor/kill-relay.ts): its NATS connection carries nothing
 * but kill broadcasts and acknowledgements, and its event loop runs nothing else, so a kill
 * never waits behind the market data, intents and venue I/O of the main thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { connectBus, encodeJson, subscribeParsed } from '../actors/bus.ts';
import { subjects } from '../actors/subjects.ts';
import { KillAckSchema, KillMessageSchema, type KillMessage } from '../actors/messages.ts';
import { KillGate } from '../actors/kill-gate.ts';
import { RelayCommandSchema, type RelayStart, type RelayReport } from './kill-relay-protocol.ts';

const port = parentPort!;
const start = workerData as RelayStart;
const report = (r: RelayReport) => port.postMessage(r);
const gates = new Map<string, KillGate>();

const nc = await connectBus({
  servers: start.natsUrl, name: 'orch-kill-relay',
  ...(start.user && start.pass ? { user: start.user, pass: start.pass } : {}),
  ...(start.tlsCaFile ? { tlsCaFile: start.tlsCaFile } : {}),
});
/** Closes every gate the message concerns and acknowledges for each strategy. */
function relay(m: KillMessage, into: Map<string, KillGate>, publish: (subject: string, data: Uint8Array) => void): void {
  for (const [id, gate] of into) {
    if (!gate.apply(m, id)) continue;
    publish(subjects.killAck(id), encodeJson(KillAckSchema, {
      type: 'kill_ack', actorId: id, revision: m.revision, level: gate.level(), ts: Date.now(), via: 'gate',
      ...(m.provisional ? { provisional: true as const } : {}),
    }));
  }
}

/**
 * The first kill must not be the first run of this code: compiling the parse, the gate and
 * the acknowledgement's encoding on first use cost the first kill after a start tens of
 * milliseconds more than the next ones (docs/latency.md, "Kill propagation"). Runs the whole
 * path on a scratch gate, through the same decoding, with nothing published.
 */
function warmUp(): void {
  const scratch = new Map([['warm-up', new KillGate()]]);
  const wire = new TextEncoder();
  for (let i = 0; i < 32; i++) {
    for (const [level, provisional] of [[3, true], [3, false], [0, false]] as const) {
      const sample = { type: 'kill', level, scope: { kind: 'global' }, reason: 'warm-up', by: 'operator', ts: Date.now(), revision: 2 * i + (level === 0 ? 1 : 0), ...(provisional ? { provisional } : {}) };
      const m = KillMessageSchema.parse(JSON.parse(new TextDecoder().decode(wire.encode(JSON.stringify(sample)))));
      relay(m, scratch, () => undefined);
    }
  }
}
warmUp();

// Called from the read loop as each message is parsed: no await between socket and gate.
subscribeParsed(nc, subjects.kill(), KillMessageSchema, (m) => relay(m, gates, (subject, data) => nc.publish(subject, data)), {
  sync: true, onInvalid: (_msg, error) => report({ type: 'invalid', error }),
});
await nc.flush();

port.on('message', (raw: unknown) => {
  const cmd = RelayCommandSchema.safeParse(raw);
  if (!cmd.success) return report({ type: 'invalid', error: cmd.error.message });
  const c = cmd.data;
  if (c.type === 'gate') gates.set(c.strategyId, new KillGate(c.buffer as SharedArrayBuffer));
  if (c.type === 'forget') gates.delete(c.strategyId);
  if (c.type === 'stop') void nc.drain().finally(() => port.close());
});
report({ type: 'ready' });
