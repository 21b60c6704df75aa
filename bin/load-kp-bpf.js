#!/usr/bin/env node
// The load-kp-bpf command: runs the compiled CLI (npm install builds it into dist/).
import { main } from '../dist/cli/main.js';

process.exitCode = await main(process.argv);
