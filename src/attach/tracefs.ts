// tracefs: finding or mounting it, and appending probe definitions with a direct write, never a shell.
import { accessSync, closeSync, constants, existsSync, openSync, readFileSync, statfsSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { AttachError, kernelError } from '../errors.js';
import { mount } from '../native.js';

const TRACEFS_MAGIC = 0x74726163;
export const TRACEFS_PATHS = ['/sys/kernel/tracing', '/sys/kernel/debug/tracing'];

const SYSFS_MAGIC = 0x62656572;

function statfsSafe(path: string): number | undefined {
  try {
    return statfsSync(path).type;
  } catch {
    return undefined;
  }
}

function isTracefs(path: string): boolean {
  return statfsSafe(path) === TRACEFS_MAGIC;
}

let cachedRoot: string | undefined;

/** Tracefs is root-only by default: say so rather than let its files look absent. */
function accessible(root: string): string {
  try {
    accessSync(root, constants.R_OK | constants.X_OK);
  } catch (error) {
    const asRoot = process.geteuid?.() === 0;
    throw kernelError(`using tracefs at ${root}`, error, asRoot ? '' : '; run as root (tracefs is root-only unless its permissions were changed)');
  }
  return root;
}

/** The tracefs mount point; mounts tracefs on /sys/kernel/tracing when none is mounted. */
export function tracefsRoot(): string {
  if (cachedRoot && isTracefs(cachedRoot)) return accessible(cachedRoot);
  cachedRoot = TRACEFS_PATHS.find(isTracefs);
  if (cachedRoot) return accessible(cachedRoot);
  const target = TRACEFS_PATHS[0]!;
  if (!existsSync(target)) {
    // A hidden /sys (a container, a chroot without sysfs) is not a kernel without tracing.
    if (statfsSafe('/sys') !== SYSFS_MAGIC || !existsSync('/sys/kernel')) {
      throw new AttachError(`tracefs is not available: ${target} does not exist because sysfs is not mounted on /sys (mount -t sysfs sysfs /sys)`);
    }
    throw new AttachError(`tracefs is not available: ${target} does not exist (is the kernel built with CONFIG_TRACING?)`);
  }
  try {
    mount('nodev', target, 'tracefs');
  } catch (error) {
    throw kernelError(`mounting tracefs on ${target}`, error);
  }
  cachedRoot = target;
  return target;
}

/**
 * Appends one definition line to a tracefs control file such as kprobe_events. O_APPEND and no
 * O_TRUNC: truncating these files deletes every probe on the system, not only ours.
 */
export function appendDefinition(file: string, line: string): void {
  if (/[\n\r\0]/.test(line)) throw new AttachError(`refusing to write a probe definition containing a line break: ${JSON.stringify(line)}`);
  const fd = openSync(file, constants.O_WRONLY | constants.O_APPEND);
  try {
    writeSync(fd, `${line}\n`);
  } finally {
    closeSync(fd);
  }
}

/** The kernel's own explanation of a failed tracefs command, from error_log (5.4+), if it logged one. */
export function tracefsErrorFor(root: string, command: string): string | undefined {
  let log: string;
  try {
    log = readFileSync(join(root, 'error_log'), 'utf8');
  } catch {
    return undefined;
  }
  const lines = log.split('\n');
  for (let i = lines.length - 1; i > 0; i--) {
    if (lines[i]!.trim() === `Command: ${command}`) {
      const match = /error: (.*)$/.exec(lines[i - 1]!);
      if (match) return match[1]!.trim();
    }
  }
  return undefined;
}

/** The id of a trace event (tracepoint, kprobe or uprobe event), used as perf_event_attr.config. */
export function traceEventId(root: string, group: string, event: string): number {
  const path = join(root, 'events', group, event, 'id');
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw kernelError(`reading the id of trace event ${group}/${event} (${path})`, error);
  }
  const id = Number.parseInt(text.trim(), 10);
  if (!Number.isSafeInteger(id) || id < 0) throw new AttachError(`${path} holds ${JSON.stringify(text.trim())}, not an event id`);
  return id;
}
