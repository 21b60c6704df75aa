// Our consumer for the stream benchmark: the library loads and attaches the object, a reader counts
// records (nothing else) until SIGINT, then it prints the counts, as the C consumer does. With
// `drain RING_BYTES` it reads nothing until SIGINT, then times one poll() of the full ring.
// It runs the compiled library in dist/ (what users run; npm run bench builds it).
import { readFileSync } from 'node:fs';
import { planAttachments } from '../../dist/attach/plan.js';
import { PerfBufferReader } from '../../dist/kernel/perf-buffer.js';
import { RingBufferReader } from '../../dist/kernel/ring-buffer.js';
import { LoadedObject } from '../../dist/loader.js';
import { parseBpfObject } from '../../dist/object/bpf-object.js';

const [object, pagesText, ringBytes] = process.argv.slice(2);
if (!object) throw new Error('usage: consumer.ts OBJECT [PERF_PAGES | drain RING_BYTES]');
const drain = pagesText === 'drain' && ringBytes !== undefined;
const spec = parseBpfObject(readFileSync(object));
// Big enough for every record the driver makes while nobody reads.
if (drain) spec.maps.find((m) => m.name === 'out')!.maxEntries = Number(ringBytes);
let received = 0;
let reader: PerfBufferReader | RingBufferReader | undefined;
const count = (): void => void received++;
const loaded = LoadedObject.start(spec, {
  attach: planAttachments(spec).attachments,
  beforeAttach: (l) => {
    if (drain) return;
    const out = l.maps.get('out')!.map;
    reader = l.own(object.includes('ringbuf') ? RingBufferReader.open(out, { onRecord: count }) : PerfBufferReader.open(out, { onRecord: count, pages: Number(pagesText ?? 64) }));
  },
});
// With no reader yet, nothing else keeps the process waiting for SIGINT.
const waiting = drain ? setInterval(() => undefined, 1 << 30) : undefined;
process.stdout.write('ready\n');
process.once('SIGINT', () => {
  clearInterval(waiting);
  let seconds: number | undefined;
  if (drain) {
    // Mapping the ring is not part of the drain.
    reader = loaded.own(RingBufferReader.open(loaded.maps.get('out')!.map, { onRecord: count }));
    const started = process.hrtime.bigint();
    reader.poll();
    seconds = Number(process.hrtime.bigint() - started) / 1e9;
  } else {
    reader!.poll();
  }
  const key = Buffer.alloc(4);
  key.writeUInt32LE(1);
  const dropped = loaded.maps.get('counters')!.map.lookup(key)!.readBigUInt64LE(0);
  const lost = reader instanceof PerfBufferReader ? reader.lost : 0n;
  loaded.close();
  process.stdout.write(`{"received":${received},"lost":${lost},"dropped":${dropped}${seconds === undefined ? '' : `,"seconds":${seconds}`}}\n`);
});
