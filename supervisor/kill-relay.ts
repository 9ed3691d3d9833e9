import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { Clock } from '../actors/clock.ts';
import { encodeJson, subscribeParsed } from '../actors/bus.ts';
import { subjects } from '../actors/subjects.ts';
import { KillAckSchema, KillMessageSchema, type KillLevel } from '../actors/messages.ts';
import { KillGate } from '../actors/kill-gate.ts';

export type KillRelayOptions = {
  /**
   * A connection of its own: a kill broadcast must not queue behind the market data and
   * intents the broker's connections carry (issue: "a kill message must never wait behind
   * market data").
   */
  nc: NatsConnection;
  clock: Clock;
  log: Logger;
  /** The levels stored for a strategy when its gate is first made (before its first launch). */
  initial: (strategyId: string) => { global: KillLevel; own: KillLevel; revision: number };
};

/**
 * The supervisor's end of the kill gates (actors/kill-gate.ts): takes every kill broadcast
 * once, updates the shared gate of each strategy it hosts, and acknowledges for that strategy
 * (`via: gate`) as soon as the store is done. A gate outlives its worker: a restarted actor
 * gets the same one, already current.
 */
export class KillRelay {
  private readonly gates = new Map<string, KillGate>();
  private sub: Subscription | undefined;

  constructor(private readonly opts: KillRelayOptions) {}

  start(): void {
    // Called from the read loop as each message is parsed: no await between socket and gate.
    this.sub = subscribeParsed(this.opts.nc, subjects.kill(), KillMessageSchema, (m) => {
      for (const [id, gate] of this.gates) {
        if (!gate.apply(m, id)) continue;
        this.opts.nc.publish(subjects.killAck(id), encodeJson(KillAckSchema, {
          type: 'kill_ack', actorId: id, revision: m.revision, level: gate.level(), ts: this.opts.clock.now(), via: 'gate',
          ...(m.provisional ? { provisional: true as const } : {}),
        }));
      }
    }, { log: this.opts.log, sync: true });
  }

  /** The shared memory of `strategyId`'s gate, made and seeded on first use. */
  gateOf(strategyId: string): SharedArrayBuffer {
    let gate = this.gates.get(strategyId);
    if (!gate) {
      gate = new KillGate();
      const i = this.opts.initial(strategyId);
      gate.seed(i.global, i.own, i.revision);
      this.gates.set(strategyId, gate);
    }
    return gate.buffer;
  }

  /** A strategy removed from the registry: no more acknowledgements in its name. */
  forget(strategyId: string): void {
    this.gates.delete(strategyId);
  }

  async flush(): Promise<void> {
    await this.opts.nc.flush();
  }

  stop(): void {
    this.sub?.unsubscribe();
  }
}
