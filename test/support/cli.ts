// Running the load-kp-bpf command in tests: to completion, or in the background until a line appears.
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = fileURLToPath(new URL('../..', import.meta.url));

/** Whether some src/ file is newer than its build in dist/ (or has none). */
function buildIsStale(): boolean {
  const sources = readdirSync(`${REPO}src`, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
  return sources.some((file) => {
    try {
      return statSync(join(REPO, 'dist', file.replace(/\.ts$/, '.js'))).mtimeMs < statSync(join(REPO, 'src', file)).mtimeMs;
    } catch {
      return true;
    }
  });
}

// The CLI runs the build in dist/ while in-process tests import src/: a test file run on its own
// after an edit would otherwise test the old command.
if (buildIsStale()) execFileSync(process.execPath, [`${REPO}node_modules/typescript/bin/tsc`, '-p', `${REPO}tsconfig.build.json`], { stdio: 'inherit' });
export const CLI = `${REPO}bin/load-kp-bpf.js`;
export const EXAMPLE = `${REPO}examples/test_prog.o`;
export const fixture = (name: string): string => `${REPO}test/fixtures/build/${name}`;

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI to completion (killing it after timeoutMs) and collects its output. */
export function runCli(args: string[], timeoutMs = 60_000): Promise<CliResult> {
  return runNode([CLI, ...args], timeoutMs);
}

/** Runs node with these arguments to completion (killing it after timeoutMs) and collects its output. */
export function runNode(argv: string[], timeoutMs = 60_000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, argv, { cwd: REPO });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

const running = new Set<RunningCli>();

/**
 * Stops loaders a failed test left running (SIGINT, then SIGKILL), so the test process can end
 * and the next test sees a clean kernel. Register it with after() in files that use RunningCli.
 */
export async function stopRunningClis(): Promise<void> {
  await Promise.all([...running].map((cli) => cli.stop('SIGINT', 10_000)));
}

/** A CLI run in the background: wait for output, send signals, collect the result. */
export class RunningCli {
  readonly child: ChildProcessWithoutNullStreams;
  stdout = '';
  stderr = '';
  private readonly done: Promise<CliResult>;

  /**
   * `readStdout: false` leaves stdout unread, as a stuck consumer of --json would; `command` runs
   * this command line instead of the CLI with `args` (a shell that sets limits first).
   */
  constructor(args: string[], options: { readStdout?: boolean; command?: [string, ...string[]] } = {}) {
    const [file, ...argv] = options.command ?? [process.execPath, CLI, ...args];
    this.child = spawn(file, argv, { cwd: REPO });
    if (options.readStdout !== false) this.child.stdout.on('data', (d: Buffer) => (this.stdout += d.toString()));
    this.child.stderr.on('data', (d: Buffer) => (this.stderr += d.toString()));
    running.add(this);
    this.done = new Promise((resolve) => {
      this.child.on('close', (code, signal) => {
        running.delete(this);
        resolve({ code, signal, stdout: this.stdout, stderr: this.stderr });
      });
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Resolves when stdout (or stderr) matches; rejects if the process ends first or the time runs out. */
  async waitFor(pattern: RegExp, timeoutMs = 60_000, stream: 'stdout' | 'stderr' = 'stdout'): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pattern.test(this[stream])) {
      if (this.child.exitCode !== null || this.child.signalCode !== null) {
        throw new Error(`load-kp-bpf ended before printing ${pattern}: stdout ${JSON.stringify(this.stdout)} stderr ${JSON.stringify(this.stderr)}`);
      }
      if (Date.now() > deadline) {
        this.child.kill('SIGKILL');
        throw new Error(`timed out waiting for ${pattern}: stdout ${JSON.stringify(this.stdout)} stderr ${JSON.stringify(this.stderr)}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Sends a signal and waits for the process to end. */
  async stop(signal: NodeJS.Signals, timeoutMs = 60_000): Promise<CliResult> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    const result = await this.done;
    clearTimeout(timer);
    return result;
  }

  /**
   * Waits for the process to end by itself; past the deadline (a run that should have ended, or
   * failed, goes on) it is killed and the wait rejects with what it printed.
   */
  async result(timeoutMs = 60_000): Promise<CliResult> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.child.kill('SIGKILL');
        reject(new Error(`load-kp-bpf did not end within ${timeoutMs} ms: stdout ${JSON.stringify(this.stdout)} stderr ${JSON.stringify(this.stderr)}`));
      }, timeoutMs);
    });
    try {
      return await Promise.race([this.done, late]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** The only line of a message that must be one line (errors are), without its newline. */
export function oneLine(stderr: string): string {
  const lines = stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `expected one line on stderr, got: ${stderr}`);
  return lines[0]!;
}

/** The JSON lines of a --json run. */
export function jsonEvents(stdout: string): Array<Record<string, unknown>> {
  return stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** From a --json run's "detached" line: each map's entries as key -> value (decimal strings). */
export function detachedMaps(stdout: string): Record<string, Record<string, string>> {
  const detached = jsonEvents(stdout).find((e) => e.event === 'detached');
  if (!detached) throw new Error(`no "detached" line in: ${stdout}`);
  const maps = detached.maps as Array<{ name: string; entries: Array<{ key: string; value: string }> }>;
  return Object.fromEntries(maps.map((m) => [m.name, Object.fromEntries(m.entries.map((e) => [e.key, e.value]))]));
}

/** Runs a program to completion (no shell) and returns its stdout. */
export function runProgram(file: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { cwd: REPO });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${file} exited with ${code}`))));
  });
}
