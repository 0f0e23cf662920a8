#!/usr/bin/env node
// The systemmanager command. The project runs its TypeScript sources directly through tsx's loader,
// so `npx systemmanager` works from a fresh clone after `npm ci` with no build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./cli.ts');
process.exitCode = await main(process.argv);
