// Loading an object's BTF into the kernel (BPF_BTF_LOAD), sanitized for what this kernel's BTF loader knows, as a handle.
import { endianness } from 'node:os';
import { BTF_KIND, BTF_LINKAGE, type Btf } from '../btf/btf.js';
import { btfInfo, sanitizeBtf, tinyBtf, type BtfFeatures } from '../btf/sanitize.js';
import { KernelError, SyscallError, kernelError } from '../errors.js';
import { btfLoad } from './bpf.js';
import { Fd } from './fd.js';

const little = endianness() === 'LE';
const INT = (nameOffset: number): number[] => [nameOffset, btfInfo(BTF_KIND.INT), 4, (1 << 24) | 32];

/** Tries a tiny BTF blob: whether the kernel's BTF loader takes it. */
function accepts(words: number[], strings: string): boolean {
  try {
    new Fd(btfLoad(tinyBtf(words, strings, little)), 'a probe BTF').close();
    return true;
  } catch (error) {
    if (error instanceof SyscallError) return false;
    throw error;
  }
}

let probed: BtfFeatures | undefined;

/** What this kernel's BTF loader knows, probed once (as libbpf's kernel_supports does). */
export function btfFeatures(): BtfFeatures {
  if (probed) return probed;
  // Strings: "\0int\0x\0f\0.data\0float\0tag\0e\0"
  const s = { int: 1, x: 5, f: 7, data: 9, float: 15, tag: 21, e: 25 };
  const strings = '\0int\0x\0f\0.data\0float\0tag\0e\0';
  probed = {
    // [1] int, [2] func_proto void(), [3] func f (static / global)
    func: accepts([...INT(s.int), 0, btfInfo(BTF_KIND.FUNC_PROTO), 0, s.f, btfInfo(BTF_KIND.FUNC, BTF_LINKAGE.STATIC), 2], strings),
    globalFunc: accepts([...INT(s.int), 0, btfInfo(BTF_KIND.FUNC_PROTO, 0), 1, s.f, btfInfo(BTF_KIND.FUNC, BTF_LINKAGE.GLOBAL), 2], strings),
    // [1] int, [2] var x, [3] datasec .data {x}
    datasec: accepts([...INT(s.int), s.x, btfInfo(BTF_KIND.VAR), 1, BTF_LINKAGE.GLOBAL, s.data, btfInfo(BTF_KIND.DATASEC, 1), 4, 2, 0, 4], strings),
    float: accepts([s.float, btfInfo(BTF_KIND.FLOAT), 4], strings),
    // [1] int, [2] var x, [3] decl_tag "tag" on it
    declTag: accepts([...INT(s.int), s.x, btfInfo(BTF_KIND.VAR), 1, BTF_LINKAGE.GLOBAL, s.tag, btfInfo(BTF_KIND.DECL_TAG), 2, 0xffffffff], strings),
    // [1] int, [2] type_tag "tag" -> int, [3] ptr -> [2]
    typeTag: accepts([...INT(s.int), s.tag, btfInfo(BTF_KIND.TYPE_TAG), 1, 0, btfInfo(BTF_KIND.PTR), 2], strings),
    enum64: accepts([s.e, btfInfo(BTF_KIND.ENUM64, 1), 8, s.x, 1, 0], strings),
  };
  return probed;
}

/** An object's BTF loaded into the kernel: its fd is what maps (btf_fd) and programs (prog_btf_fd) name. */
export class BtfObject {
  readonly fd: Fd;

  /** `functions`: the kernel kept the FUNC types, so programs may name them in func_info. */
  constructor(
    fd: number,
    readonly functions = btfFeatures().func,
  ) {
    this.fd = new Fd(fd, "the object's BTF");
  }

  /** Sanitizes the BTF for this kernel and loads it; a refusal comes with the kernel's BTF log. */
  static load(btf: Btf): BtfObject {
    const bytes = sanitizeBtf(btf, btfFeatures());
    try {
      return new BtfObject(btfLoad(bytes));
    } catch (first) {
      if (!(first instanceof SyscallError)) throw kernelError("loading the object's BTF into the kernel", first);
      const log = Buffer.alloc(1 << 20);
      try {
        new Fd(btfLoad(bytes, log), "the object's BTF").close();
      } catch {
        // The same refusal, now with the log.
      }
      const text = log.toString('utf8', 0, Math.max(0, log.indexOf(0))).trim();
      const last = text.split('\n').filter((l) => l.trim() !== '').pop();
      throw new KernelError(`loading the object's BTF into the kernel: ${first.code} (${first.description})${last ? `: ${last.trim()}` : ''}`, first.errno, { cause: first });
    }
  }

  get releaseDescription(): string {
    return "close the object's BTF";
  }

  close(): void {
    this.fd.close();
  }
}
