// BPF instruction encoding: reading and patching 8-byte instructions in either byte order; which helpers a program calls.

export const INSN_SIZE = 8;
/** BPF_LD | BPF_IMM | BPF_DW: the two-slot 64-bit immediate load that carries map references. */
export const OP_LD_IMM64 = 0x18;
/** BPF_JMP | BPF_CALL. */
export const OP_CALL = 0x85;

export { BPF_PSEUDO_CALL, BPF_PSEUDO_KFUNC_CALL, BPF_PSEUDO_MAP_FD, BPF_PSEUDO_MAP_VALUE } from '../abi.js';

/** A mutable view of a program's instructions. */
export class Instructions {
  private readonly view: DataView;

  constructor(
    readonly bytes: Uint8Array,
    readonly littleEndian: boolean,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get count(): number {
    return Math.floor(this.bytes.length / INSN_SIZE);
  }

  opcode(index: number): number {
    return this.bytes[index * INSN_SIZE]!;
  }

  /** The register nibbles sit in opposite halves of byte 1 in the two byte orders. */
  srcReg(index: number): number {
    const regs = this.bytes[index * INSN_SIZE + 1]!;
    return this.littleEndian ? regs >> 4 : regs & 0xf;
  }

  dstReg(index: number): number {
    const regs = this.bytes[index * INSN_SIZE + 1]!;
    return this.littleEndian ? regs & 0xf : regs >> 4;
  }

  setSrcReg(index: number, value: number): void {
    const at = index * INSN_SIZE + 1;
    const regs = this.bytes[at]!;
    this.bytes[at] = this.littleEndian ? (regs & 0x0f) | (value << 4) : (regs & 0xf0) | value;
  }

  setDstReg(index: number, value: number): void {
    const at = index * INSN_SIZE + 1;
    const regs = this.bytes[at]!;
    this.bytes[at] = this.littleEndian ? (regs & 0xf0) | value : (regs & 0x0f) | (value << 4);
  }

  setOpcode(index: number, value: number): void {
    this.bytes[index * INSN_SIZE] = value;
  }

  offset(index: number): number {
    return this.view.getInt16(index * INSN_SIZE + 2, this.littleEndian);
  }

  setOffset(index: number, value: number): void {
    this.view.setInt16(index * INSN_SIZE + 2, value, this.littleEndian);
  }

  imm(index: number): number {
    return this.view.getInt32(index * INSN_SIZE + 4, this.littleEndian);
  }

  setImm(index: number, value: number): void {
    this.view.setInt32(index * INSN_SIZE + 4, value, this.littleEndian);
  }
}

/** The ids of the helper functions a program calls (BPF_CALL with src_reg 0). */
export function helperCalls(instructions: Uint8Array, littleEndian: boolean): Set<number> {
  const insns = new Instructions(instructions, littleEndian);
  const helpers = new Set<number>();
  for (let i = 0; i < insns.count; i++) {
    const opcode = insns.opcode(i);
    if (opcode === OP_CALL && insns.srcReg(i) === 0) helpers.add(insns.imm(i));
    if (opcode === OP_LD_IMM64) i++;
  }
  return helpers;
}
