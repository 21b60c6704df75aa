// Watching a map from the shell: map watch redraws its top entries by value, with each one's rate, until Ctrl-C.
import { UsageError } from '../errors.js';
import { mapTypeName } from '../object/map-types.js';
import { terminalSafe } from '../text.js';
import { table } from './format.js';
import type { OpenedMap } from './map-ref.js';
import { entryCells, entryViews } from './map-read.js';
import type { EntryView } from './map-view.js';
import type { Output } from './output.js';
import { SignalWatch } from './signals.js';

/** A live view of a map, sorted by value, redrawn in place on a terminal; snapshots otherwise; Ctrl-C ends it. */
export async function mapWatch(m: OpenedMap, options: Record<string, unknown>, out: Output): Promise<number> {
  const interval = Number(options.interval ?? 1);
  const top = Number(options.top ?? 20);
  if (!(interval > 0)) throw new UsageError('--interval must be a number of seconds above 0');
  if (!Number.isInteger(top) || top < 1) throw new UsageError('--top must be a whole number above 0');
  const tty = process.stdout.isTTY === true && !out.options.json;
  const signals = new SignalWatch(['SIGINT', 'SIGTERM', 'SIGHUP']);
  let previous = new Map<string, bigint>();
  let last = Date.now();
  const draw = (): void => {
    const now = Date.now();
    const entries = entryViews(m);
    const numeric = (e: EntryView): bigint | undefined => (/^\d+$/.test(e.value) ? BigInt(e.value) : undefined);
    entries.sort((a, b) => {
      const x = numeric(a) ?? -1n;
      const y = numeric(b) ?? -1n;
      return x > y ? -1 : x < y ? 1 : a.key.localeCompare(b.key);
    });
    const shown = entries.slice(0, top);
    const seconds = (now - last) / 1000;
    const current = new Map(entries.map((e) => [e.key, numeric(e) ?? 0n]));
    if (out.options.json) {
      out.json({ event: 'watch', time: new Date(now).toISOString(), map: m.info.name, entries: entries.length, top: shown.map((e) => ({ key: e.key, value: e.value, ...(e.formatted ? { formatted: e.formatted } : {}) })) });
    } else {
      const rows = shown.map((e) => {
        const { cells } = entryCells(e);
        const before = previous.get(e.key);
        const rate = before === undefined || numeric(e) === undefined || seconds <= 0 ? '' : `${(Number(numeric(e)! - before) / seconds).toFixed(1)}/s`;
        return [...cells, rate];
      });
      const names = shown.length > 0 ? [...entryCells(shown[0]!).names, 'rate'] : ['key', 'value', 'rate'];
      const lines = [`${new Date(now).toTimeString().slice(0, 8)}  map '${m.info.name}' (id ${m.info.id}, ${mapTypeName(m.info.type)}): ${entries.length} entries, top ${shown.length} by value`, ...table([names, ...rows])];
      if (tty) out.raw(`\x1b[H\x1b[J${lines.map((l) => `${terminalSafe(l)}\n`).join('')}`);
      else out.lines([...lines, '']);
    }
    previous = current;
    last = now;
  };
  if (tty) out.raw('\x1b[?25l');
  try {
    draw();
    for (;;) {
      const stop = await Promise.race([signals.next(), new Promise<undefined>((r) => setTimeout(() => r(undefined), interval * 1000))]);
      if (stop) break;
      draw();
    }
  } finally {
    signals.stop();
    if (tty) out.raw('\x1b[?25h');
  }
  return 0;
}
