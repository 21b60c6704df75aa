// serve's command line and configuration file: the objects, each split off with its run options and read as run reads them.
import { openSync, readSync, closeSync, statSync } from 'node:fs';
import { Command, type Option } from 'commander';
import { isRecord, parseConfigText, readConfigFile } from '../config-text.js';
import { UsageError } from '../errors.js';
import { printable } from '../text.js';
import { addRunOptions, runOptionsOf, type RunCommandLine } from './run-args.js';
import { RunOutput } from './run-output.js';
import { objectName, readMetricsConfig, runObjects, type RunObject } from './run.js';
import { FdWriter } from './writer.js';

/** One object of a serve configuration file, before its arguments are read as the command line's. */
export interface ServeConfigObject {
  object: string;
  args: string[];
}

/** A serve configuration file: where to listen (the command line's --metrics wins) and the objects. */
export interface ServeConfig {
  listen?: string;
  objects: ServeConfigObject[];
}

/** Reads a serve configuration (YAML or JSON): `listen` and `objects: [{object, args}]`; every mistake is one line naming the file. */
export function readServeConfig(path: string): ServeConfig {
  const source = `--config ${printable(path)}`;
  const value = parseConfigText(readConfigFile(path, 'the serve configuration'), source);
  const bad = (where: string, what: string): never => {
    throw new UsageError(`${source}: ${where}: ${what}`);
  };
  if (!isRecord(value)) return bad('the top level', 'expected a mapping with "listen" and "objects"');
  const config: ServeConfig = { objects: [] };
  for (const [key, entry] of Object.entries(value)) {
    if (key === 'listen') {
      if (typeof entry !== 'string' && typeof entry !== 'number') bad(key, 'expected [ADDRESS:]PORT');
      config.listen = String(entry);
    } else if (key === 'objects') {
      if (!Array.isArray(entry) || entry.length === 0) return bad(key, 'expected a list of {object, args}');
      entry.forEach((item: unknown, i) => {
        const where = `objects[${i}]`;
        if (!isRecord(item)) return bad(where, 'expected a mapping with "object" and "args"');
        for (const k of Object.keys(item)) if (k !== 'object' && k !== 'args') bad(`${where}.${k}`, 'unknown key; an object has "object" and "args"');
        if (typeof item.object !== 'string' || item.object === '') bad(`${where}.object`, 'expected the path of a BPF object');
        const args = item.args ?? [];
        if (!Array.isArray(args) || !args.every((a) => typeof a === 'string' || typeof a === 'number')) return bad(`${where}.args`, 'expected a list of the arguments the object takes on the command line');
        config.objects.push({ object: item.object as string, args: args.map(String) });
      });
    } else {
      bad(key, 'unknown key; a configuration has "listen" and "objects"');
    }
  }
  if (config.objects.length === 0) bad('objects', 'missing: the configuration names no object');
  return config;
}

/** serve's own options, as commander gives them. */
export interface ServeCommandLine {
  metrics?: string;
  config?: string;
  duration: number;
  metricsMaxSeries?: number;
  json: boolean;
  quiet: boolean;
  verbose: boolean;
}

/** Options that apply to every object of serve, given once before the objects. */
const SERVE_ONLY = ['metrics', 'duration', 'json'] as const;

/** Whether a word is an option that takes the next word as its value ("--attach X"; "--attach=X" does not). */
function takesValue(word: string, options: readonly Option[]): boolean {
  if (!word.startsWith('-') || word.includes('=')) return false;
  const option = options.find((o) => o.long === word || o.short === word);
  return option !== undefined && (option.required || option.optional);
}

/** The index of the first word from `from` on that is no option and no option's value; words.length when there is none. */
export function firstPositional(words: readonly string[], options: readonly Option[], from = 0): number {
  for (let i = from; i < words.length; i++) {
    const word = words[i]!;
    if (!word.startsWith('-') || word === '-') return i;
    if (takesValue(word, options)) i++;
  }
  return words.length;
}

/** Whether a path is a regular file that starts as an ELF file does: a new object, not the previous object's function. */
function isElfFile(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    const fd = openSync(path, 'r');
    try {
      const magic = Buffer.alloc(4);
      return readSync(fd, magic, 0, 4, 0) === 4 && magic.equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]));
    } finally {
      closeSync(fd);
    }
  } catch {
    return false;
  }
}

/** A fresh command that reads one object's words as run reads its own (commander keeps values between parses). */
function objectCommand(object: string): Command {
  return addRunOptions(new Command('serve').argument('<object>').argument('[function]'))
    .helpOption(false)
    .exitOverride()
    .configureOutput({
      writeErr: (s) => process.stderr.write(s),
      outputError: (text, write) => write(`load-kp-bpf: serve ${printable(object)}: ${text.trim().replace(/^error: /, '')} (load-kp-bpf run --help lists an object's options)\n`),
    });
}

/**
 * Splits serve's words into objects: each starts at its path, takes its function and options; a
 * word that is no option's value and names an ELF file starts the next object.
 */
export function splitObjects(words: readonly string[]): string[][] {
  const options = objectCommand('').options;
  const leading = firstPositional(words, options);
  if (leading > 0) throw new UsageError(`serve: ${words.slice(0, leading).join(' ')}: an object's options go after its path (serve's own go before the first object)`);
  const objects: string[][] = [];
  for (let i = 0; i < words.length; ) {
    const object = [words[i]!];
    let next = i + 1;
    for (;;) {
      const at = firstPositional(words, options, next);
      object.push(...words.slice(next, at));
      if (at === words.length || isElfFile(words[at]!)) {
        next = at;
        break;
      }
      object.push(words[at]!);
      next = at + 1;
    }
    objects.push(object);
    i = next;
  }
  return objects;
}

/** The object's words read as run's options; serve's own options are refused there, and fill in what the object does not say. */
async function objectOptions(words: readonly string[], serve: ServeCommandLine): Promise<{ path: string; functionName?: string; options: RunCommandLine }> {
  const command = objectCommand(words[0]!);
  let read: { path: string; functionName?: string; options: RunCommandLine } | undefined;
  command.action((path: string, functionName: string | undefined, options: RunCommandLine) => {
    read = { path, ...(functionName === undefined ? {} : { functionName }), options };
  });
  await command.parseAsync([...words], { from: 'user' });
  const { path, options } = read!;
  for (const name of SERVE_ONLY) {
    if (command.getOptionValueSource(name) === 'cli') throw new UsageError(`serve ${printable(path)}: --${name} is serve's, for all the objects: give it before the first object`);
  }
  options.json = serve.json;
  options.duration = serve.duration;
  options.verbose ||= serve.verbose;
  options.quiet ||= serve.quiet;
  if (options.metricsMaxSeries === undefined && serve.metricsMaxSeries !== undefined) options.metricsMaxSeries = serve.metricsMaxSeries;
  return read!;
}

/** The serve command: the objects of --config and of the command line, each with its options and output, served together. */
export async function serveCommand(words: readonly string[], serve: ServeCommandLine): Promise<number> {
  const config = serve.config === undefined ? undefined : readServeConfig(serve.config);
  const objectWords = [...(config?.objects.map((o) => [o.object, ...o.args]) ?? []), ...splitObjects(words)];
  if (objectWords.length === 0) throw new UsageError('serve: name the objects to serve (serve --metrics 9435 a.o b.o), or a --config FILE that does');
  const metrics = serve.metrics ?? config?.listen;
  if (metrics === undefined) throw new UsageError('serve: where to serve? give --metrics [ADDRESS:]PORT (or listen: in the --config file)');
  const read = [];
  for (const words of objectWords) read.push(await objectOptions(words, serve));
  // Named as their metrics are: two of one object tell themselves apart by their prefixes.
  const configs = read.map((r) => (r.options.metricsConfig === undefined ? undefined : readMetricsConfig(r.options.metricsConfig)));
  const names = read.map((r, i) => configs[i]?.prefix ?? objectName(r.path));
  // One writer per stream, shared: the objects' lines never cut into each other.
  const stdout = new FdWriter(1);
  const stderr = new FdWriter(2);
  const objects: RunObject[] = read.map((r, i) => {
    const name = names.indexOf(names[i]!) === names.lastIndexOf(names[i]!) ? names[i]! : r.path;
    const out = new RunOutput({ ...runOptionsOf(r.options), object: { name, path: r.path } }, stdout, stderr);
    const config = configs[i];
    return { path: r.path, ...(r.functionName === undefined ? {} : { functionName: r.functionName }), options: r.options, out, ...(config ? { metricsConfig: config } : {}) };
  });
  return runObjects(objects, { metrics, duration: serve.duration }, new RunOutput({ verbose: serve.verbose, json: serve.json, quiet: serve.quiet }, stdout, stderr));
}
