#!/usr/bin/env node
// The load-kp-bpf command in Node: raises the open-file limit first (Node opens the CLI's modules
// in parallel and fails with EMFILE under a low limit), then runs the compiled CLI from dist/.
const MIN_OPEN_FILES = 64;
try {
  const { raiseOpenFileLimit } = await import('../dist/cli/limits.js');
  const limit = raiseOpenFileLimit();
  if (limit < MIN_OPEN_FILES) {
    process.stderr.write(`load-kp-bpf: the open-file limit is ${limit} and cannot be raised (its hard limit); load-kp-bpf needs at least ${MIN_OPEN_FILES}, plus one per map, program and perf event: raise it with ulimit -n\n`);
    process.exit(1);
  }
  const { main } = await import('../dist/cli/main.js');
  process.exitCode = await main(process.argv);
} catch (error) {
  const code = error && typeof error === 'object' && 'code' in error ? error.code : undefined;
  const hint = code === 'EMFILE' ? `: too many open files; raise the limit (ulimit -n) to at least ${MIN_OPEN_FILES}` : code === 'ERR_MODULE_NOT_FOUND' ? ': the build is missing; run npm install' : '';
  process.stderr.write(`load-kp-bpf: cannot start: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}${hint}\n`);
  process.exitCode = 1;
}
