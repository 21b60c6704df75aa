// A tool's C header (opensnoop.h and the like) -> BTF of the types it declares, with no compiler: what decodes the records a BPF object writes when its C user space is not there.
import { readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Btf } from '../btf/btf.js';
import { BtfWriter } from '../btf/writer.js';
import { ObjectError } from '../errors.js';
import { BUILTIN_TYPEDEFS, predefinedMacros } from './builtins.js';
import { emitTypes } from './emit.js';
import { parseDeclarations } from './parser.js';
import { preprocess } from './preprocess.js';
import { Scope } from './scope.js';
import type { CType } from './types.js';

/** What readCHeader() takes besides the path: the BTF the header builds on, and the byte order. */
export interface CHeaderOptions {
  /** The object's own BTF: names the header uses and does not declare (`u64`, a struct) are copied from it, before the built-in names are tried. */
  base?: Btf;
  /** The byte order of the BTF made: the base's, else little-endian. */
  littleEndian?: boolean;
}

export interface ParseCHeaderOptions extends CHeaderOptions {
  /** The header's name in messages; `#include "x.h"` is looked for next to it. */
  file?: string;
  /** The text of `#include "name"` seen in the file `from`; undefined when there is none. */
  readInclude?: (name: string, from: string) => string | undefined;
}

/** Headers are small; this bounds what a wrong path (a disk image, /dev/zero) can make us read. */
const MAX_HEADER_BYTES = 16 << 20;

/** Reads a header and the `#include "..."` files next to it into BTF. */
export function readCHeader(path: string, options: CHeaderOptions = {}): Btf {
  const text = readHeaderFile(path);
  if (text === undefined) throw new ObjectError(`${path}: no such file`);
  return parseCHeader(text, { ...options, file: path, readInclude: (name, from) => readHeaderFile(join(dirname(from), name)) });
}

/** The text of a header; undefined when there is no file. */
function readHeaderFile(path: string): string | undefined {
  try {
    const size = statSync(path).size;
    if (size > MAX_HEADER_BYTES) throw new ObjectError(`${path}: ${size} bytes is not a C header (at most ${MAX_HEADER_BYTES})`);
    return readFileSync(path, 'utf8');
  } catch (error) {
    if (error instanceof ObjectError) throw error;
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ObjectError(`${path}: cannot read it: ${(error as Error).message}`);
  }
}

/** A header's text into BTF: its structs, unions, enums and typedefs, and what they use. */
export function parseCHeader(text: string, options: ParseCHeaderOptions = {}): Btf {
  const littleEndian = options.littleEndian ?? options.base?.littleEndian ?? true;
  const file = options.file ?? 'header.h';
  try {
    const { tokens, macroNames } = preprocess(text, { file, readInclude: options.readInclude ?? (() => undefined), predefined: predefinedMacros(littleEndian) });
    const scope = new Scope(options.base, builtinTypes());
    parseDeclarations(tokens, scope, macroNames);
    const writer = new BtfWriter(littleEndian);
    emitTypes(scope, writer);
    return writer.finish();
  } catch (error) {
    // The nesting limits keep real and hostile headers well within the stack; this is the last guard.
    if (error instanceof RangeError) throw new ObjectError(`${file}: the header nests too deep to read (${error.message})`);
    throw error;
  }
}

let builtins: ReadonlyMap<string, CType> | undefined;

/** The built-in typedefs, read once by the reader itself. */
function builtinTypes(): ReadonlyMap<string, CType> {
  if (builtins === undefined) {
    const scope = new Scope(undefined, new Map());
    parseDeclarations(preprocess(BUILTIN_TYPEDEFS, { file: '<built-in>', readInclude: () => undefined, predefined: [] }).tokens, scope, []);
    builtins = scope.typedefs;
  }
  return builtins;
}
