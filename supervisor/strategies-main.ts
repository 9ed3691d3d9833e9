/**
 * The strategies process under Node's permission model (supervisor/strategies-process.ts starts
 * it): a supervisor and its strategy workers, with no venue secret, no environment of the
 * launcher's, file reads limited to the code, writes to its compile folder only, no child
 * processes and no native addons. Its NATS users come from the launcher over the IPC channel.
 */
import { registerSecret, createLogger } from '../actors/logger.ts';
import { SUPERVISOR, type Credentials, type Role } from './nats-auth.ts';
import { ChildMessageSchema, ParentMessageSchema, StrategiesStartSchema, type ChildMessage } from './strategies-ipc.ts';
import { startStrategiesHost } from './strategies-host.ts';
import type { Supervisor } from './supervisor.ts';
import { useCompileDir, usePrecompiled } from './worker-code.ts';

const send = (m: ChildMessage) => process.send?.(ChildMessageSchema.parse(m));
const parsed = StrategiesStartSchema.safeParse(JSON.parse(process.argv[2] ?? 'null'));
if (!parsed.success) {
  process.stderr.write(`orch strategies process: bad start arguments: ${parsed.error.issues.map((i) => i.path.join('.') || '(root)').join(', ')}\n`);
  process.exit(2);
}
if (!process.send) {
  process.stderr.write('orch strategies process: started without its launcher (orch start starts it)\n');
  process.exit(2);
}
const a = parsed.data;
useCompileDir(a.compileDir);
usePrecompiled(a.precompiled);
const log = createLogger({ name: 'orch', format: a.logFormat, ...(a.logColor ? { color: true } : {}), ...(a.logLevel ? { level: a.logLevel } : {}) });

let asked = 0;
const answers = new Map<number, { resolve: (c: Credentials | undefined) => void; reject: (e: Error) => void }>();
process.on('message', (raw: unknown) => {
  const m = ParentMessageSchema.safeParse(raw);
  if (!m.success) return void log.warn({ fields: m.error.issues.map((i) => i.path.join('.')) }, 'launcher: invalid message');
  const waiting = answers.get(m.data.id);
  answers.delete(m.data.id);
  if (m.data.error !== undefined) waiting?.reject(new Error(m.data.error));
  else {
    registerSecret(m.data.credentials?.pass);
    waiting?.resolve(m.data.credentials);
  }
});
const credentials = (role: Role): Promise<Credentials | undefined> => new Promise((resolve, reject) => {
  const id = asked++;
  answers.set(id, { resolve, reject });
  if (role.kind !== 'supervisor' && role.kind !== 'strategy') return reject(new Error(`the strategies process holds no ${role.kind} credentials`));
  send({ type: 'credentials', id, role });
});

/** With users on the server: every role's are there (the launcher answers an error otherwise). */
async function askedCredentials(role: Role): Promise<Credentials> {
  const c = await credentials(role);
  if (!c) throw new Error(`the launcher has no NATS user for ${role.kind}`);
  return c;
}

let stopping: Promise<void> | undefined;
let stopHost: (() => Promise<void>) | undefined;
const stop = (why: string) => {
  stopping ??= (async () => {
    log.info({ why }, 'stopping: strategies in reverse order');
    await stopHost?.();
    log.info('stopped');
    process.exit(0);
  })();
};
// Ctrl-C on a terminal reaches the whole process group: the launcher orders the stop (this
// process first, then its broker and NATS) and asks with SIGTERM, so SIGINT alone is not one.
process.on('SIGINT', () => log.debug('SIGINT: the launcher stops this process'));
process.on('SIGTERM', () => stop('SIGTERM'));
// The launcher is gone: nothing would stop this process any more.
process.on('disconnect', () => stop('launcher gone'));

try {
  const supervisorCreds = await credentials(SUPERVISOR);
  const host = await startStrategiesHost({
    configFile: a.configFile, natsUrl: a.natsUrl, log, logFormat: a.logFormat, metricsPort: a.metricsPort, metricsHost: a.metricsHost,
    ...(a.group !== undefined ? { group: a.group } : {}),
    ...(supervisorCreds ? { natsAuth: { credentials: askedCredentials } } : {}),
    ...(a.natsCaFile ? { natsCaFile: a.natsCaFile } : {}),
    ...(a.logColor ? { logColor: true } : {}),
    ...(a.logLevel ? { logLevel: a.logLevel } : {}),
    ...(a.hotReload === false ? { hotReload: false } : {}),
  });
  stopHost = host.stop;
  const ids = host.config.strategies.map((s) => s.id);
  log.info({ nats: a.natsUrl, group: a.group ?? '(all)', strategies: ids, metrics: host.metricsUrl, permissionModel: true }, 'strategies running; Ctrl-C to stop');
  send({ type: 'running', strategies: ids, ...(host.metricsUrl ? { metricsUrl: host.metricsUrl } : {}) });
  reportStatuses(host.supervisor);
} catch (e) {
  log.error({ err: e }, 'the strategies process could not start');
  process.exit(1);
}

/** Each strategy's state, sent to the launcher whenever one changes (checked every 250 ms). */
function reportStatuses(supervisor: Supervisor): void {
  let last = '';
  const check = () => {
    const statuses = Object.fromEntries(supervisor.ids().map((id) => [id, supervisor.status(id) ?? 'stopped']));
    const now = JSON.stringify(statuses);
    if (now === last || !process.connected) return;
    last = now;
    send({ type: 'statuses', statuses });
  };
  check();
  setInterval(check, 250).unref();
}
