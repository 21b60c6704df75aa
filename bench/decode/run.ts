// npm run bench -- decode [--records N] [--runs R]: records decoded and printed per second, as text and
// JSON, for a 64- and a 296-byte struct, through the run command's RunOutput to /dev/null; beside the
// same records as hex (no decoding) and a C printf printer of the same fields, in the same run.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const HERE = new URL('.', import.meta.url).pathname;
const BUILD = join(HERE, 'build');
const { values } = parseArgs({ options: { records: { type: 'string', default: '1000000' }, runs: { type: 'string', default: '3' } } });
const RECORDS = Number(values.records);
const RUNS = Number(values.runs);
const STRUCTS = [
  { size: '64', label: '64-byte struct small_event (ts, pid, tid, ret, flags, comm[16], three u64)' },
  { size: '296', label: "296-byte struct open_event (opensnoop's: ts, pid, uid, ret, flags, comm[16], fname[255])" },
] as const;

interface Measurement {
  rate: number;
  peakMb: number;
}

/** Runs a consumer `RUNS` times, each its own process with stdout on /dev/null; each reports its print loop's time and peak RSS on stderr. */
function measure(command: string, args: string[]): Measurement {
  const runs: Measurement[] = [];
  for (let i = 0; i < RUNS; i++) {
    const result = spawnSync(command, args, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
    const line = result.stderr.split('\n').find((l) => l.startsWith('{"records"'));
    if (result.status !== 0 || !line) throw new Error(`${command} ${args.join(' ')} failed: ${result.stderr}`);
    const { records, seconds, peakKb } = JSON.parse(line) as { records: number; seconds: number; peakKb: number };
    runs.push({ rate: records / seconds, peakMb: peakKb / 1024 });
  }
  runs.sort((a, b) => a.rate - b.rate);
  return { rate: runs[Math.floor(runs.length / 2)]!.rate, peakMb: Math.max(...runs.map((r) => r.peakMb)) };
}

const ours = (size: string, format: string): Measurement =>
  measure(process.execPath, ['--import', 'tsx', join(HERE, 'consumer.ts'), '--object', join(BUILD, 'records.o'), '--struct', size, '--format', format, '--records', String(RECORDS)]);
const printer = (size: string, format: string): Measurement => measure(join(BUILD, 'printer'), [size, format, String(RECORDS)]);
const show = (label: string, m: Measurement): string => `  ${label.padEnd(40)} ${String(Math.round(m.rate)).padStart(10)} records/s   peak RSS ${m.peakMb.toFixed(1).padStart(6)} MB`;

function main(): void {
  console.log(`=== bench decode: ${RECORDS} records (1024 different ones, repeated) decoded and printed to /dev/null, median of ${RUNS} runs`);
  for (const { size, label } of STRUCTS) {
    const cText = printer(size, 'text');
    const cJson = printer(size, 'json');
    const text = ours(size, 'text');
    const json = ours(size, 'json');
    const hex = ours(size, 'hex');
    console.log(`${label}:`);
    console.log(show('C printf, text', cText));
    console.log(show('C printf, JSON', cJson));
    console.log(show('load-kp-bpf RunOutput, typed text', text));
    console.log(show('load-kp-bpf RunOutput, typed --json', json));
    console.log(show('load-kp-bpf RunOutput, hex (--raw)', hex));
    const ratio = text.rate / cText.rate;
    console.log(`  text: ${ratio.toFixed(2)}x the C printer (goal at least 0.5x${ratio >= 0.5 ? '' : ': below it'}); JSON: ${(json.rate / cJson.rate).toFixed(2)}x the C JSON printer; typed text ${(text.rate / hex.rate).toFixed(2)}x hex`);
  }
}

main();
