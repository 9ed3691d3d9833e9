import { hostname } from 'node:os';
import { z } from 'zod';
import { PlacementGroupSchema, type LoadedConfig } from '../config/registry.ts';
import type { Probe } from './reload.ts';

/**
 * Which part of the system an `orch start` runs (docs/deploy.md, "Several hosts"): `all` the
 * broker and the strategies (one host, today's behaviour), `broker` the broker alone (venues,
 * limiter, event log, reconciliation, kill switch, lease), `strategies` a supervisor and the
 * strategy workers of one placement group, against a NATS the broker also uses.
 */
export const RoleSchema = z.enum(['all', 'broker', 'strategies']);
export type Role = z.infer<typeof RoleSchema>;

export function roleFrom(value: string | undefined): Role {
  if (value === undefined) return 'all';
  const r = RoleSchema.safeParse(value);
  if (!r.success) throw new Error(`--role must be all, broker or strategies, got "${value}"`);
  return r.data;
}

export function groupFrom(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const r = PlacementGroupSchema.safeParse(value);
  if (!r.success) throw new Error(`--group: 1-40 letters, digits, _ or -, got "${value}"`);
  return r.data;
}

/** The registry as one host runs it: the strategies of its group (all of them without a group). */
export function inGroup(config: LoadedConfig, group: string | undefined): LoadedConfig {
  return group === undefined ? config : { ...config, strategies: config.strategies.filter((s) => s.group === group) };
}

/** A probe whose registries are cut to one group, so a reload on this host starts and stops only its own strategies. */
export function groupProbe(probe: Probe, group: string | undefined): Probe {
  return async (file) => {
    const r = await probe(file);
    return r.ok ? { ...r, config: inGroup(r.config, group) } : r;
  };
}

/** How a supervisor names itself in `orch status`: its host, pid and group. */
export function placementOf(group: string | undefined): { host: string; group: string } {
  return { host: `${hostname()}:${process.pid}`, group: group ?? '(all)' };
}
