// One run of the decode benchmark on our side: the same 1024 records as printer.c, shown N times by
// the run command's RunOutput (typed text, typed JSON, or untyped hex) to /dev/null, 1024 records a turn of the
// event loop as a reader hands them over; time and peak RSS on stderr.
// It runs the compiled library in dist/ (what users run; npm run bench builds it), not the TypeScript sources.
import { openSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { RunOutput } from '../../dist/cli/run-output.js';
import { FdWriter } from '../../dist/cli/writer.js';
import { parseBpfObject } from '../../dist/object/bpf-object.js';

const PATTERN = 1024;
/** Records handed over per turn of the event loop. */
const BATCH = 1024;
const STRUCTS = { '64': { name: 'small_event', size: 64 }, '296': { name: 'open_event', size: 296 } } as const;
const { values } = parseArgs({ options: { object: { type: 'string' }, struct: { type: 'string', default: '64' }, format: { type: 'string', default: 'text' }, records: { type: 'string', default: '1000000' } } });
const struct = STRUCTS[values.struct as keyof typeof STRUCTS];
const format = values.format!;
if (!values.object || !struct || !['text', 'json', 'hex'].includes(format)) throw new Error('usage: consumer.ts --object OBJ --struct 64|296 --format text|json|hex [--records N]');
const RECORDS = Number(values.records);

/** The pattern, as printer.c builds it. */
const ERRNOS = [2, 13, 1, 11];
const COMMS = ['bash', 'systemd', 'sshd', 'node', 'cc1', 'make', 'python3', 'kworker/u8:2'];
const DIRS = ['/etc', '/usr/lib/x86_64-linux-gnu', '/proc/self', '/home/user/projects/load-kp-bpf/node_modules/typescript/lib', '/tmp', '/sys/fs/cgroup/system.slice/ssh.service'];
const FILES = ['ld.so.cache', 'libc.so.6', 'status', 'tsc.js', 'lock', 'memory.max', 'passwd', 'locale-archive'];

function record(i: number): Buffer {
  const h = Math.imul(i, 2654435761) >>> 0;
  const b = Buffer.alloc(struct.size);
  const pid = 1000 + (h % 30000);
  b.writeBigUInt64LE(12345000000000n + BigInt(i * 1000003 + (h % 1000)), 0);
  b.writeUInt32LE(pid, 8);
  b.writeInt32LE(i % 5 === 0 ? -ERRNOS[i % 4]! : h % 64, 16);
  b.writeUInt32LE(h & 0x80241, 20);
  b.write(COMMS[i % 8]!, 24, 'latin1');
  if (struct.size === 64) {
    b.writeUInt32LE(pid + (i % 4), 12);
    b.writeBigUInt64LE(BigInt(h) * 4096n + BigInt(i), 40);
    b.writeBigUInt64LE(BigInt(i) * 65536n, 48);
    b.writeBigUInt64LE((BigInt(h) << 24n) | BigInt(i), 56);
  } else {
    b.writeUInt32LE(i % 3 === 0 ? 0 : 1000 + (i % 7), 12);
    b.write(`${DIRS[i % 6]}/${FILES[(h >>> 8) % 8]}.${i}`, 40, 'latin1');
  }
  return b;
}

const records = Array.from({ length: PATTERN }, (_, i) => record(i));
const spec = parseBpfObject(readFileSync(values.object));
const writer = new FdWriter(openSync('/dev/null', 'w'));
const out =
  format === 'hex'
    ? new RunOutput({ verbose: false, json: false, raw: true }, writer)
    : new RunOutput({ verbose: false, json: format === 'json', recordTypes: new Map([['events', struct.name]]) }, writer);
out.prepare(spec, format === 'hex' ? [] : undefined);

const started = process.hrtime.bigint();
for (let n = 0; n < RECORDS; n++) {
  out.record('events', undefined, records[n % PATTERN]!);
  // A reader hands records over in batches, the event loop turning between them: output is written as it goes, as in a run.
  if (n % BATCH === BATCH - 1) await new Promise(setImmediate);
}
await out.finish();
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
// VmHWM as printer.c reports it (ru_maxrss would count the forking parent's pages too).
const peakKb = Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1]);
process.stderr.write(`${JSON.stringify({ records: RECORDS, seconds, peakKb })}\n`);
