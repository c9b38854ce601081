#!/usr/bin/env node
// The dagu-ts-worker program (also `dagu-ts worker`).
import { workerMain } from './cli.js';

process.exitCode = await workerMain(process.argv.slice(2));
