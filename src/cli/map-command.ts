// The map command: dispatches list, show, dump, lookup, update, delete, create, pin and watch to the modules that do them.
import { UsageError } from '../errors.js';
import { mapCreate, mapPin } from './map-create.js';
import { mapDump, mapList, mapLookup, mapShow } from './map-read.js';
import { opened, parseMapRef, type OpenedMap } from './map-ref.js';
import { mapWatch } from './map-watch.js';
import { mapDelete, mapUpdate } from './map-write.js';
import type { Output } from './output.js';

/** The global flags every map subcommand reads. */
export interface MapCommandOptions {
  json: boolean;
  verbose: boolean;
}

/** Runs one map subcommand; returns the exit code. Errors are one line. */
export async function mapCommand(sub: string, args: string[], options: MapCommandOptions & Record<string, unknown>, out: Output): Promise<number> {
  const nothingAfter = (rest: string[]): void => {
    if (rest.length > 0) throw new UsageError(`map ${sub} takes ${sub === 'list' ? 'no arguments' : 'only MAP'}: unexpected ${JSON.stringify(rest[0])}`);
  };
  switch (sub) {
    case 'list':
      nothingAfter(args);
      return mapList(out);
    case 'show':
      return withMap(args, {}, (m) => mapShow(m, out), nothingAfter);
    case 'dump':
      return withMap(args, { hist: Boolean(options.hist), raw: Boolean(options.raw) }, (m) => mapDump(m, out), nothingAfter);
    case 'lookup':
      return withMap(args, {}, (m, rest) => mapLookup(m, rest, out));
    case 'update':
      return withMap(args, {}, (m, rest) => mapUpdate(m, rest, options, out));
    case 'delete':
      return withMap(args, {}, (m, rest) => mapDelete(m, rest, out));
    case 'pin':
      return withMap(args, {}, (m, rest) => mapPin(m, rest, out));
    case 'create':
      return mapCreate(args, options, out);
    case 'watch':
      return withMap(args, { hist: false, raw: true }, (m) => mapWatch(m, options, out), nothingAfter);
    default:
      throw new UsageError(`unknown map command '${sub}': list, show, dump, lookup, update, delete, create, pin, watch`);
  }
}

/** Opens the map the arguments start with, checks what follows, runs the subcommand on it, and closes it. */
async function withMap(
  args: string[],
  present: { hist?: boolean; raw?: boolean },
  body: (m: OpenedMap, rest: string[]) => number | Promise<number>,
  checkRest: (rest: string[]) => void = () => {},
): Promise<number> {
  const { ref, rest } = parseMapRef(args);
  checkRest(rest);
  const m = opened(ref, present);
  try {
    return await body(m, rest);
  } finally {
    m.map.close();
  }
}
