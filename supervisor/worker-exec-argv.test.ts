import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compiledWorkerExecArgv } from './worker-exec-argv.ts';

test('a worker that runs compiled code gets no module loader from the command line, and otherwise inherits the process\'s flags', () => {
  // As node --test runs each file here: `node --import tsx --test-... file`.
  assert.deepEqual(compiledWorkerExecArgv(['--import', 'tsx', '--test-concurrency=1', '--test-force-exit']), []);
  assert.deepEqual(compiledWorkerExecArgv(['--import=tsx']), []);
  assert.deepEqual(compiledWorkerExecArgv(['--enable-source-maps', '--loader', 'tsx']), []);
  assert.deepEqual(compiledWorkerExecArgv(['--experimental-loader=tsx']), []);
  assert.deepEqual(compiledWorkerExecArgv(['-r', 'tsx/cjs']), []);
  // `orch` itself: its loader is registered in code (bin/orch.js), the flags are inherited as they are.
  assert.equal(compiledWorkerExecArgv([]), undefined);
  assert.equal(compiledWorkerExecArgv(['--max-old-space-size=512', '--enable-source-maps']), undefined);
});
