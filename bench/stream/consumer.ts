// Our consumer for the stream benchmark: the library loads and attaches the object, a reader counts
// records (nothing else) until SIGINT, then it prints the counts, as the C consumer does.
import { readFileSync } from 'node:fs';
import { planAttachments } from '../../src/attach/plan.js';
import { PerfBufferReader } from '../../src/kernel/perf-buffer.js';
import { RingBufferReader } from '../../src/kernel/ring-buffer.js';
import { LoadedObject } from '../../src/loader.js';
import { parseBpfObject } from '../../src/object/bpf-object.js';

const [object, pagesText] = process.argv.slice(2);
if (!object) throw new Error('usage: consumer.ts OBJECT [PERF_PAGES]');
const spec = parseBpfObject(readFileSync(object));
let received = 0;
let reader: PerfBufferReader | RingBufferReader | undefined;
const count = (): void => void received++;
const loaded = LoadedObject.start(spec, {
  attach: planAttachments(spec).attachments,
  beforeAttach: (l) => {
    const out = l.maps.get('out')!.map;
    reader = l.own(object.includes('ringbuf') ? RingBufferReader.open(out, { onRecord: count }) : PerfBufferReader.open(out, { onRecord: count, pages: Number(pagesText ?? 64) }));
  },
});
process.stdout.write('ready\n');
process.once('SIGINT', () => {
  reader!.poll();
  const key = Buffer.alloc(4);
  key.writeUInt32LE(1);
  const dropped = loaded.maps.get('counters')!.map.lookup(key)!.readBigUInt64LE(0);
  const lost = reader instanceof PerfBufferReader ? reader.lost : 0n;
  loaded.close();
  process.stdout.write(`{"received":${received},"lost":${lost},"dropped":${dropped}}\n`);
});
