import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger, actorLogger } from './logger.ts';
import { formatLogLine } from './log-format.ts';

const capture = () => {
  const lines: string[] = [];
  return { lines, destination: { write: (s: string) => void lines.push(s) } };
};

test('an actor logger made from another actor\'s logger writes `actor` once, its own, keeping the other bindings', () => {
  const { lines, destination } = capture();
  const root = createLogger({ destination });
  const broker = actorLogger(root, 'broker').child({ venue: 'kite' });
  actorLogger(broker, 'sim:kite').info({ port: 1 }, 'listening');
  const line = lines[0]!;
  assert.equal(line.match(/"actor":/g)?.length, 1, line);
  assert.equal(line.match(/"pid":/g)?.length, 1, line);
  const o = JSON.parse(line) as Record<string, unknown>;
  assert.equal(o.actor, 'sim:kite');
  assert.equal(o.venue, 'kite');
});

test('readable mode writes one line per entry: time, level, actor, message, then the fields', () => {
  const { lines, destination } = capture();
  const log = actorLogger(createLogger({ destination, format: 'pretty' }), 'kill');
  log.warn({ scope: 'global', killLevel: 2, err: Object.assign(new RangeError("down"), { code: "E1" }) }, 'kill level changed');
  assert.match(lines[0]!, /^\d\d:\d\d:\d\d\.\d{3} WARN  kill  kill level changed  scope=global killLevel=2 err="RangeError: down \(E1\)"\n$/);
  assert.equal(formatLogLine('not json'), 'not json\n');
});
