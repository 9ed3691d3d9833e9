#!/usr/bin/env node
// The `orch` command. Registers the TypeScript loader, then hands over to the CLI.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../supervisor/cli.ts');
process.exitCode = await main(process.argv.slice(2));
