// External tools the tests call: found on PATH once, or one line naming the script that installs them.
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Which script of the project installs each tool (test/install-deps.sh, which runs scripts/install-build-deps.sh, runs before every suite). */
const INSTALLED_BY: Record<string, string> = {
  bpftool: 'test/install-deps.sh',
  clang: 'test/install-deps.sh',
  'llvm-readelf': 'test/install-deps.sh',
  'llvm-objdump': 'test/install-deps.sh',
  'llvm-dwarfdump': 'test/install-deps.sh',
  cc: 'test/install-deps.sh',
  nm: 'test/install-deps.sh',
  addr2line: 'test/install-deps.sh',
  objcopy: 'test/install-deps.sh',
  'c++filt': 'test/install-deps.sh',
  objdump: 'test/install-deps.sh',
  readelf: 'test/install-deps.sh',
  strip: 'test/install-deps.sh',
  tmux: 'test/install-deps.sh',
  ip: 'test/install-deps.sh',
  modprobe: 'test/install-deps.sh',
  'chromium-headless-shell': 'test/install-deps.sh',
  make: 'test/install-deps.sh',
  prometheus: 'test/install-deps.sh',
  promtool: 'test/install-deps.sh',
  'aarch64-linux-gnu-g++': 'scripts/install-build-deps.sh',
  'qemu-aarch64': 'scripts/install-build-deps.sh',
  'node-arm64': 'scripts/install-build-deps.sh',
};

/** Why a test could not run: a tool is missing. Its message is the one line a reader needs. */
export class MissingToolError extends Error {
  override name = 'MissingToolError';
  constructor(message: string) {
    super(message);
    // The reader needs the message, not where in the test it was raised.
    this.stack = `${this.name}: ${message}`;
  }
}

const found = new Map<string, string>();

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(name: string): string | undefined {
  return (process.env.PATH ?? '').split(delimiter).filter(Boolean).map((dir) => join(dir, name)).find(executable);
}

/**
 * The path of a tool the test needs; `override` is an environment variable that may name another
 * binary (LLVM_READELF=llvm-readelf-16). Throws MissingToolError, whose one-line message names the
 * install script, instead of letting spawnSync fail with ENOENT and a stack trace.
 */
export function tool(name: string, override?: string): string {
  const wanted = (override && process.env[override]) || name;
  const cached = found.get(wanted);
  if (cached) return cached;
  const path = wanted.includes('/') ? (executable(wanted) ? wanted : undefined) : onPath(wanted);
  if (!path) {
    const script = INSTALLED_BY[name] ?? 'test/install-deps.sh';
    throw new MissingToolError(`${wanted} is not installed: run ${script} (as root) to install what the tests need`);
  }
  found.set(wanted, path);
  return path;
}
