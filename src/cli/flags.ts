// The command's names for the library's options: the one place that knows which flag sets which option.
import type { OptionName, OptionNamer } from '../wording.js';

/** Each option's flag, and how a value follows it ("=" for --retprobe=PROG). */
const FLAGS: Record<OptionName, [flag: string, separator: string]> = {
  function: ['load-kp-bpf <object> <function>', ' '],
  targets: ['--attach', ' '],
  retprobe: ['--retprobe', '='],
  retprobePrograms: ['--retprobe', '='],
  usdt: ['--usdt', ' '],
  programs: ['--program', ' '],
  exclude: ['--exclude', ' '],
  skipMissing: ['--skip-missing', ' '],
  allPrograms: ['--all-programs', ' '],
  mode: ['--attach-mode', ' '],
  pid: ['--pid', ' '],
  pinRoot: ['--pin-root', ' '],
  kernelConfigFile: ['--kconfig', ' '],
  kernelBtfFile: ['--btf', ' '],
  maxEntries: ['--max-entries', ' '],
  globals: ['--set', ' '],
  types: ['--types', ' '],
  perfPages: ['--perf-pages', ' '],
};

/** Names an option as the command line sets it: "--attach-mode tracefs", "--retprobe=PROG". */
export const commandLineName: OptionNamer = (option, value) => {
  const [flag, separator] = FLAGS[option];
  return value === undefined ? flag : `${flag}${separator}${value}`;
};
