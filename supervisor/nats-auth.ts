import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, stat, writeFile, chmod } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KV_KILL, INBOX_ROOT, inboxPrefix, subjects } from '../actors/subjects.ts';
import { registerSecret } from '../actors/logger.ts';
import { assertNever } from '../actors/assert-never.ts';
import { SupervisorError } from './errors.ts';

/**
 * NATS users and permissions for every process, rendered from the subject switchboard so the
 * server, not our code, keeps a strategy off `orch.kill`, off other strategies' intents, off the
 * event log and off the kill KV. Layout (all under `<stateDir>/nats/`, dir 0700, files 0600):
 *
 *   nats.conf           include <repo nats.conf> + include authorization.conf   (start with -c this)
 *   authorization.conf  authorization { users = [...] }                          (passwords inside)
 *   passwords.json      generated passwords for users without an env var        (reused next run)
 *
 * Passwords come from `ORCH_NATS_<ROLE>_PASSWORD` (OPERATOR, SUPERVISOR, BROKER,
 * STRATEGY_<ID>, id upper-cased with '-' as '_'), else are generated once. The repo's nats.conf
 * stays auth-free so `nats-server -c nats.conf` and the tests run without any of this.
 */
export type Role = { kind: 'operator' } | { kind: 'supervisor' } | { kind: 'broker' } | { kind: 'strategy'; strategyId: string };
export type Permissions = { publish: { allow: string[]; deny?: string[] }; subscribe: { allow: string[]; deny?: string[] } };
export type Credentials = { user: string; pass: string };

/** The repository's nats.conf: the base of the generated server config unless another is given. */
export const repoNatsConf = join(dirname(fileURLToPath(import.meta.url)), '..', 'nats.conf');
/** Publishing a reply into any requester's inbox: only the services that answer requests (broker, supervisor). */
const ANY_INBOX = `${INBOX_ROOT}.>`;
/** A user's own inbox (its connections use `inboxPrefix(user)`, actors/bus.ts): the only replies it may read. */
const ownInbox = (role: Role) => `${inboxPrefix(userName(role))}.>`;
const SERVICES = '$SRV.>';
const KV_STREAM = `KV_${KV_KILL}`;

export const OPERATOR: Role = { kind: 'operator' };
export const SUPERVISOR: Role = { kind: 'supervisor' };
export const BROKER: Role = { kind: 'broker' };
export const strategyRole = (strategyId: string): Role => ({ kind: 'strategy', strategyId });

export function userName(role: Role): string {
  return role.kind === 'strategy' ? `strategy-${role.strategyId}` : role.kind;
}

export function envVarFor(role: Role): string {
  const name = role.kind === 'strategy' ? `STRATEGY_${role.strategyId.toUpperCase().replace(/-/g, '_')}` : role.kind.toUpperCase();
  return `ORCH_NATS_${name}_PASSWORD`;
}

/** What each role may publish and subscribe to; a pure function of the switchboard. */
export function permissionsFor(role: Role): Permissions {
  switch (role.kind) {
    case 'operator':
      // The human's credential: the CLI resets kill levels and inspects everything.
      return { publish: { allow: ['>'] }, subscribe: { allow: ['>'] } };
    case 'broker':
      return {
        // The only writer of the event log, the kill broadcast and the KV buckets ($KV.>, $JS.API.>).
        publish: { allow: ['orch.>', '$JS.API.>', '$JS.ACK.>', '$JS.FC.>', '$KV.>', ANY_INBOX, SERVICES], deny: [prefixAll(subjects.intentAll())] },
        subscribe: { allow: ['orch.>', ownInbox(role), SERVICES] },
      };
    case 'supervisor':
      return {
        publish: {
          allow: [
            prefixAll(subjects.healthAll()),
            prefixAll(subjects.metricsAll()),
            subjects.deadLetterAll(),
            // Acknowledgements for the strategies whose kill gates it closed (supervisor/kill-relay.ts).
            subjects.killAckAll(),
            // Its actors' crashes, for the broker's restart-intensity trigger.
            subjects.actorCrashedAll(),
            // The market-data hub asks for the last ticks of its instruments (supervisor/md-hub-worker.ts).
            subjects.lastTicks(),
            ANY_INBOX,
            SERVICES,
            // Read-only access to the kill bucket, so the supervisor can read the level before it
            // starts actors: stream info, direct/message get, and an ephemeral watch consumer.
            '$JS.API.INFO',
            `$JS.API.STREAM.INFO.${KV_STREAM}`,
            `$JS.API.STREAM.MSG.GET.${KV_STREAM}`,
            `$JS.API.DIRECT.GET.${KV_STREAM}.>`,
            `$JS.API.CONSUMER.CREATE.${KV_STREAM}`,
            `$JS.API.CONSUMER.CREATE.${KV_STREAM}.>`,
            `$JS.API.CONSUMER.INFO.${KV_STREAM}.>`,
            `$JS.API.CONSUMER.DELETE.${KV_STREAM}.>`,
            `$JS.FC.${KV_STREAM}.>`,
          ],
        },
        subscribe: {
          // Its own service endpoints (orch status, orch reload), answered on every host.
          // orch.md.>: the market-data hub reads the ticks of its strategies for them (supervisor/md-hub.ts).
          allow: [subjects.healthAll(), subjects.metricsAll(), subjects.marketDataAll(), subjects.kill(), subjects.killAckAll(), subjects.brokerEvents(), subjects.deadLetterAll(), ownInbox(role), SERVICES, subjects.serviceEndpointsOf('supervisor')],
        },
      };
    case 'strategy': {
      const id = role.strategyId;
      return {
        publish: {
          // orch.dlq.> lets the bus dead-letter a bad payload it received. No inbox: a strategy
          // answers no request, so it cannot put a forged reply into anyone's inbox either.
          allow: [subjects.intent(id), subjects.lastTicks(), subjects.strategyState(id), subjects.health(id), subjects.metrics(id), subjects.killAck(id), subjects.deadLetterAll()],
        },
        // Its replies (intent answers, last ticks) arrive under its own inbox prefix only.
        subscribe: { allow: [subjects.marketDataAll(), subjects.orderUpdatesOf(id), subjects.kill(), subjects.brokerEvents(), ownInbox(role)] },
      };
    }
    default:
      return assertNever(role);
  }
}

/** `orch.health.*` → `orch.health.>`: a publisher's own subject may have any suffix shape. */
function prefixAll(wildcard: string): string {
  return wildcard.replace(/\*$/, '>');
}

export function rolesFor(strategyIds: readonly string[]): Role[] {
  return [OPERATOR, SUPERVISOR, BROKER, ...strategyIds.map(strategyRole)];
}

/** Config text of the authorization block; quoting via JSON keeps `$JS...` from being a variable. */
export function renderAuthorization(users: readonly { role: Role; pass: string }[]): string {
  const q = (s: string) => JSON.stringify(s);
  const list = (xs: readonly string[]) => `[${xs.map(q).join(', ')}]`;
  const perm = (p: { allow: string[]; deny?: string[] }) => `{ allow: ${list(p.allow)}${p.deny?.length ? `, deny: ${list(p.deny)}` : ''} }`;
  const lines = users.map(({ role, pass }) => {
    const p = permissionsFor(role);
    return `    { user: ${q(userName(role))}, password: ${q(pass)}, permissions: { publish: ${perm(p.publish)}, subscribe: ${perm(p.subscribe)} } }`;
  });
  return `# Generated by supervisor/nats-auth.ts; do not edit, do not commit. Mode 0600.\nauthorization {\n  users = [\n${lines.join(',\n')}\n  ]\n}\n`;
}

export class NatsAuthError extends SupervisorError {
  override readonly name = 'NatsAuthError';
  constructor(message: string) {
    super('nats_auth', message);
  }
}

const SAFE_PASSWORD = /^[A-Za-z0-9!#%&()*+,\-./:;<=>?@[\]^_{|}~]{16,256}$/;

export type NatsAuthOptions = {
  stateDir: string;
  strategyIds: readonly string[];
  env?: NodeJS.ProcessEnv;
  /** The base settings to include; defaults to the repo's nats.conf. */
  baseConfig?: string;
  random?: (bytes: number) => Buffer;
  /**
   * JetStream store directory, written into the generated config. Give it here rather than as
   * `--store_dir` on the command line: nats-server 2.9 refuses to reload (SIGHUP) a config whose
   * store dir came from a flag, and a reload is how a new strategy's user goes live.
   */
  storeDir?: string;
};

export type NatsAuth = {
  /** Start nats-server with `-c configFile`. */
  configFile: string;
  authFile: string;
  credentials(role: Role): Credentials;
};

/**
 * Resolves every role's password and writes the three files. Safe to call again when the
 * strategy list changes; then reload nats-server (`nats-server --signal reload` or SIGHUP).
 */
export async function writeNatsAuth(opts: NatsAuthOptions): Promise<NatsAuth> {
  const env = opts.env ?? process.env;
  const random = opts.random ?? randomBytes;
  const dir = join(opts.stateDir, 'nats');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  const roles = rolesFor(opts.strategyIds);
  checkEnvNames(roles);

  const storeFile = join(dir, 'passwords.json');
  const stored = await readStored(storeFile);
  let generatedNew = false;
  const passwords = new Map<string, string>();
  for (const role of roles) {
    const user = userName(role);
    const fromEnv = env[envVarFor(role)];
    if (fromEnv !== undefined && fromEnv !== '') {
      // Name the variable, never the value.
      if (!SAFE_PASSWORD.test(fromEnv)) throw new NatsAuthError(`${envVarFor(role)}: 16-256 printable characters without quotes, backslashes or spaces`);
      passwords.set(user, fromEnv);
      continue;
    }
    let pass = stored[user];
    if (!pass) {
      pass = random(24).toString('base64url');
      stored[user] = pass;
      generatedNew = true;
    }
    passwords.set(user, pass);
  }
  // Blanked in every log line of this process, whoever logs them.
  for (const pass of passwords.values()) registerSecret(pass);
  if (generatedNew) await writePrivate(storeFile, `${JSON.stringify(stored, null, 2)}\n`);

  const authFile = join(dir, 'authorization.conf');
  await writePrivate(authFile, renderAuthorization(roles.map((role) => ({ role, pass: passwords.get(userName(role))! }))));
  const configFile = join(dir, 'nats.conf');
  // nats-server 2.9 resolves includes relative to the including file and rejects absolute paths.
  const base = relative(dir, opts.baseConfig ?? repoNatsConf);
  // Placed before the includes, the order verified against nats-server 2.9.10.
  const store = opts.storeDir ? `store_dir: ${JSON.stringify(resolve(opts.storeDir))}\n` : '';
  await writePrivate(configFile, `# Generated by supervisor/nats-auth.ts.\n${store}include ${JSON.stringify(base)}\ninclude "authorization.conf"\n`);

  return {
    configFile,
    authFile,
    credentials(role) {
      const user = userName(role);
      const pass = passwords.get(user);
      if (!pass) throw new NatsAuthError(`no NATS user ${user}: add the strategy to the YAML and rewrite the auth files`);
      return { user, pass };
    },
  };
}

function checkEnvNames(roles: readonly Role[]): void {
  const seen = new Map<string, string>();
  for (const r of roles) {
    const v = envVarFor(r);
    const prev = seen.get(v);
    if (prev) throw new NatsAuthError(`users ${prev} and ${userName(r)} would share ${v}; rename one strategy`);
    seen.set(v, userName(r));
  }
}

async function readStored(file: string): Promise<Record<string, string>> {
  let mode: number;
  try {
    mode = (await stat(file)).mode;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw e;
  }
  if (mode & 0o077) throw new NatsAuthError(`${file} is readable by others (mode ${(mode & 0o777).toString(8)}); chmod 600 it`);
  const parsed = JSON.parse(await readFile(file, 'utf8')) as unknown;
  if (!parsed || typeof parsed !== 'object') throw new NatsAuthError(`${file}: not a JSON object`);
  return parsed as Record<string, string>;
}

/** Written to a fresh 0600 file and renamed over, so the secret is never briefly world-readable. */
async function writePrivate(file: string, text: string): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, text, { mode: 0o600 });
  await rename(tmp, file);
}


/**
 * A strategy's credentials, kept in step with the registry: a strategy the auth files do not
 * list yet (added to the YAML while running) makes them be rewritten and the server reloaded,
 * so it gets its own user without a hand edit. Existing passwords are kept.
 */
export function strategyCredentialSource(o: {
  initial: NatsAuth;
  options: NatsAuthOptions;
  /** Makes the running server read the rewritten files (SIGHUP) and resolves once `probe` passes. */
  reload: (probe: Credentials) => Promise<void>;
}): (strategyId: string) => Promise<Credentials> {
  let auth = o.initial;
  const ids = new Set(o.options.strategyIds);
  let chain: Promise<unknown> = Promise.resolve();
  return (strategyId) => {
    const next = chain.then(async () => {
      if (!ids.has(strategyId)) {
        ids.add(strategyId);
        auth = await writeNatsAuth({ ...o.options, strategyIds: [...ids] });
        await o.reload(auth.credentials(strategyRole(strategyId)));
      }
      return auth.credentials(strategyRole(strategyId));
    });
    chain = next.catch(() => undefined);
    return next;
  };
}

/**
 * The operator's credentials for the CLI: `ORCH_NATS_OPERATOR_PASSWORD`, else the generated
 * `<stateDir>/nats/passwords.json` (refused if others can read it); undefined = no auth set up.
 */
export async function operatorCredentials(stateDir: string, env: NodeJS.ProcessEnv = process.env): Promise<Credentials | undefined> {
  const user = userName(OPERATOR);
  const fromEnv = env[envVarFor(OPERATOR)];
  registerSecret(fromEnv);
  if (fromEnv) return { user, pass: fromEnv };
  const stored = await readStored(join(stateDir, 'nats', 'passwords.json'));
  const pass = stored[user];
  registerSecret(pass);
  return pass ? { user, pass } : undefined;
}

/**
 * The users of a NATS server this process did not start (a cluster: docs/deploy.md): each role's
 * password from `ORCH_NATS_<ROLE>_PASSWORD`, else from `<stateDir>/nats/passwords.json` as
 * `orch nats-users` wrote it (refused if others can read it). Undefined when neither has any
 * password: an open server.
 */
export async function storedNatsAuth(stateDir: string, env: NodeJS.ProcessEnv): Promise<NatsAuth | undefined> {
  const dir = join(stateDir, 'nats');
  const stored = await readStored(join(dir, 'passwords.json'));
  const fromEnv = Object.keys(env).some((k) => /^ORCH_NATS_[A-Z0-9_]+_PASSWORD$/.test(k) && env[k]);
  if (Object.keys(stored).length === 0 && !fromEnv) return undefined;
  for (const pass of Object.values(stored)) registerSecret(pass);
  return {
    configFile: join(dir, 'nats.conf'),
    authFile: join(dir, 'authorization.conf'),
    credentials(role) {
      const user = userName(role);
      const pass = env[envVarFor(role)] || stored[user];
      if (!pass) throw new NatsAuthError(`no password for NATS user ${user}: set ${envVarFor(role)} or copy the passwords.json of orch nats-users to ${dir}`);
      registerSecret(pass);
      return { user, pass };
    },
  };
}
