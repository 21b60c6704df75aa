// Integer constant expressions as C evaluates them (literal types, usual arithmetic conversions, wrap-around), for #if, array sizes, bitfield widths and enum values.
import type { Token } from './lexer.js';

/** An integer value with its C type after promotion: int (4), long (8) or __int128 (16), signed or not. */
export interface CValue {
  readonly value: bigint;
  readonly size: number;
  readonly unsigned: boolean;
}

/** What a cast or sizeof needs of a type. */
export interface TypeTraits {
  /** In bytes; undefined for incomplete types (void, functions, structs declared and not defined). */
  readonly size: number | undefined;
  readonly align: number | undefined;
  /** For types a cast can convert to: integers, enums, pointers. */
  readonly integer?: { readonly size: number; readonly unsigned: boolean; readonly bool: boolean };
  /** How the type is written, for messages. */
  readonly name: string;
}

/** Where the tokens come from, and how names and types are known there. */
export interface ExpressionSource {
  peek(ahead?: number): Token;
  next(): Token;
  /** Throws: what could not be read, at the token (the current one when not given). */
  fail(reason: string, at?: Token): never;
  /** The value of a name: an enumerator (0 in #if, where every macro is already expanded). */
  identifier(name: Token): CValue;
  /** At '(': when a type name follows, reads '(' type-name ')' and gives the type; else reads nothing. */
  typeName(): TypeTraits | undefined;
}

/** Deeper than any real expression; keeps a hostile one from exhausting the stack. */
const MAX_DEPTH = 200;

const INT: Omit<CValue, 'value'> = { size: 4, unsigned: false };

/** In #if every value is intmax_t or uintmax_t (8 bytes); elsewhere literals have C's types. */
export type ExpressionMode = 'preprocessor' | 'c';

function wrap(value: bigint, size: number, unsigned: boolean): CValue {
  return { value: unsigned ? BigInt.asUintN(size * 8, value) : BigInt.asIntN(size * 8, value), size, unsigned };
}

/** The smallest of int, unsigned int, long, unsigned long that holds `value`: an enumerator's value as an operand. */
export function valueOf(value: bigint): CValue {
  if (value >= -(1n << 31n) && value < 1n << 31n) return { value, ...INT };
  if (value >= 0n && value < 1n << 32n) return { value, size: 4, unsigned: true };
  if (value >= -(1n << 63n) && value < 1n << 63n) return { value, size: 8, unsigned: false };
  return wrap(value, 8, true);
}

const BINARY: ReadonlyArray<readonly string[]> = [
  ['||'],
  ['&&'],
  ['|'],
  ['^'],
  ['&'],
  ['==', '!='],
  ['<', '>', '<=', '>='],
  ['<<', '>>'],
  ['+', '-'],
  ['*', '/', '%'],
];

/** Reads one conditional expression (no commas, no assignments) and gives its value. */
export function evaluate(source: ExpressionSource, mode: ExpressionMode): CValue {
  return new Evaluator(source, mode).conditional(true, 0);
}

class Evaluator {
  constructor(
    private readonly source: ExpressionSource,
    private readonly mode: ExpressionMode,
  ) {}

  conditional(live: boolean, depth: number): CValue {
    if (depth > MAX_DEPTH) this.source.fail('the expression nests too deep');
    const condition = this.binary(0, live, depth);
    if (this.source.peek().text !== '?') return condition;
    this.source.next();
    const taken = condition.value !== 0n;
    const whenTrue = this.conditional(live && taken, depth + 1);
    this.expect(':');
    const whenFalse = this.conditional(live && !taken, depth + 1);
    const [a, b] = this.convert(whenTrue, whenFalse);
    return taken ? a : b;
  }

  private binary(level: number, live: boolean, depth: number): CValue {
    if (level === BINARY.length) return this.unary(live, depth);
    let left = this.binary(level + 1, live, depth);
    for (;;) {
      const op = this.source.peek();
      if (op.kind !== 'punctuator' || !BINARY[level]!.includes(op.text)) return left;
      this.source.next();
      // The right side of && and || is read but not evaluated when the left decides: `defined(X) && X / Y`.
      const rightLive = live && !(op.text === '&&' && left.value === 0n) && !(op.text === '||' && left.value !== 0n);
      const right = this.binary(level + 1, rightLive, depth);
      left = this.apply(op, left, right, rightLive);
    }
  }

  private apply(op: Token, left: CValue, right: CValue, live: boolean): CValue {
    const truth = (b: boolean): CValue => ({ value: b ? 1n : 0n, ...INT });
    switch (op.text) {
      case '||':
        return truth(left.value !== 0n || right.value !== 0n);
      case '&&':
        return truth(left.value !== 0n && right.value !== 0n);
      case '<<':
      case '>>': {
        const l = this.promote(left);
        if (right.value < 0n || right.value >= BigInt(l.size * 8)) {
          if (!live) return l;
          this.source.fail(`shift by ${right.value} of a ${l.size * 8}-bit value`, op);
        }
        return wrap(op.text === '<<' ? l.value << right.value : l.value >> right.value, l.size, l.unsigned);
      }
      default:
        break;
    }
    const [a, b] = this.convert(left, right);
    const result = (v: bigint): CValue => wrap(v, a.size, a.unsigned);
    switch (op.text) {
      case '|':
        return result(a.value | b.value);
      case '^':
        return result(a.value ^ b.value);
      case '&':
        return result(a.value & b.value);
      case '==':
        return truth(a.value === b.value);
      case '!=':
        return truth(a.value !== b.value);
      case '<':
        return truth(a.value < b.value);
      case '>':
        return truth(a.value > b.value);
      case '<=':
        return truth(a.value <= b.value);
      case '>=':
        return truth(a.value >= b.value);
      case '+':
        return result(a.value + b.value);
      case '-':
        return result(a.value - b.value);
      case '*':
        return result(a.value * b.value);
      default:
        if (b.value === 0n) {
          if (!live) return result(0n);
          this.source.fail('division by zero', op);
        }
        // BigInt division truncates toward zero, as C's does.
        return result(op.text === '/' ? a.value / b.value : a.value % b.value);
    }
  }

  private unary(live: boolean, depth: number): CValue {
    if (depth > MAX_DEPTH) this.source.fail('the expression nests too deep');
    const t = this.source.peek();
    if (t.kind === 'punctuator' && ['+', '-', '~', '!'].includes(t.text)) {
      this.source.next();
      const operand = this.promote(this.unary(live, depth + 1));
      if (t.text === '!') return { value: operand.value === 0n ? 1n : 0n, ...INT };
      if (t.text === '+') return operand;
      return wrap(t.text === '-' ? -operand.value : ~operand.value, operand.size, operand.unsigned);
    }
    if (t.kind === 'identifier' && (t.text === 'sizeof' || t.text === '_Alignof' || t.text === '__alignof__' || t.text === 'alignof')) {
      this.source.next();
      const sizeof = t.text === 'sizeof';
      const type = this.source.peek().text === '(' ? this.source.typeName() : undefined;
      if (type === undefined) {
        if (!sizeof) this.source.fail(`${t.text} needs a type in parentheses`);
        return { value: BigInt(this.unary(false, depth + 1).size), size: 8, unsigned: true };
      }
      const value = sizeof ? type.size : type.align;
      if (value === undefined) this.source.fail(`${t.text}(${type.name}): the type is incomplete`, t);
      return { value: BigInt(value), size: 8, unsigned: true };
    }
    if (t.text === '(') {
      const type = this.source.typeName();
      if (type !== undefined) {
        const operand = this.unary(live, depth + 1);
        if (type.integer === undefined) this.source.fail(`cannot cast to ${type.name}`, t);
        const { size, unsigned, bool } = type.integer;
        if (bool) return { value: operand.value === 0n ? 0n : 1n, ...INT };
        return this.promote(wrap(operand.value, size, unsigned));
      }
      this.source.next();
      const inner = this.conditional(live, depth + 1);
      this.expect(')');
      return inner;
    }
    return this.primary();
  }

  private primary(): CValue {
    const t = this.source.next();
    if (t.kind === 'number') return this.number(t);
    if (t.kind === 'char') return this.character(t);
    if (t.kind === 'identifier') return this.source.identifier(t);
    return this.source.fail(t.kind === 'end' ? 'the expression ends early' : `expected a value, found '${t.text}'`, t);
  }

  private number(t: Token): CValue {
    const match = /^(0[xX][0-9a-fA-F]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)([uU](?:ll|LL|[lL])?|(?:ll|LL|[lL])[uU]?)?$/.exec(t.text);
    if (!match) this.source.fail(`'${t.text}' is not an integer constant`, t);
    const digits = match[1]!;
    const value = digits.length > 1 && digits[0] === '0' && /[0-7]/.test(digits[1]!) ? BigInt(`0o${digits.slice(1)}`) : BigInt(digits);
    if (value >= 1n << 64n) this.source.fail(`'${t.text}' does not fit in 64 bits`, t);
    const suffix = (match[2] ?? '').toLowerCase();
    const unsigned = suffix.includes('u');
    if (this.mode === 'preprocessor') return { value, size: 8, unsigned: unsigned || value >= 1n << 63n };
    // C's list of types a constant may take: decimal ones stay signed unless nothing signed holds them.
    const decimal = digits === '0' || digits[0] !== '0';
    const candidates: Array<[number, boolean]> = suffix.includes('l') ? [[8, false], [8, true]] : [[4, false], [4, true], [8, false], [8, true]];
    for (const [size, isUnsigned] of candidates) {
      if ((unsigned && !isUnsigned) || (decimal && !unsigned && isUnsigned && size === 4)) continue;
      if (value < 1n << BigInt(size * 8 - (isUnsigned ? 0 : 1))) return { value, size, unsigned: isUnsigned };
    }
    return { value, size: 8, unsigned: true };
  }

  private character(t: Token): CValue {
    const body = t.text.length >= 3 && t.text.endsWith("'") ? t.text.slice(1, -1) : '';
    const escapes: Record<string, number> = { n: 10, t: 9, r: 13, '0': 0, a: 7, b: 8, f: 12, v: 11, '\\': 92, "'": 39, '"': 34, '?': 63, e: 27 };
    let code: number | undefined;
    if (body.length === 1) code = body.charCodeAt(0);
    else if (/^\\x[0-9a-fA-F]{1,2}$/.test(body)) code = parseInt(body.slice(2), 16);
    else if (/^\\[0-7]{1,3}$/.test(body)) code = parseInt(body.slice(1), 8) & 0xff;
    else if (body.length === 2 && body[0] === '\\') code = escapes[body[1]!];
    if (code === undefined || code > 0xff) this.source.fail(`${t.text} is not a character constant this reader knows`, t);
    // A char constant is an int holding a (signed) char's value, as on x86 and BPF.
    const value = BigInt.asIntN(8, BigInt(code));
    return this.mode === 'preprocessor' ? { value, size: 8, unsigned: false } : { value, ...INT };
  }

  /** Integer promotion: anything narrower than int becomes int (and everything is 8 bytes in #if). */
  private promote(v: CValue): CValue {
    if (this.mode === 'preprocessor' && v.size < 8) return wrap(v.value, 8, v.unsigned);
    return v.size < 4 ? { value: v.value, ...INT } : v;
  }

  /** The usual arithmetic conversions: both to the wider type; at equal width, unsigned wins. */
  private convert(left: CValue, right: CValue): [CValue, CValue] {
    const a = this.promote(left);
    const b = this.promote(right);
    const size = Math.max(a.size, b.size);
    const unsigned = a.size === b.size ? a.unsigned || b.unsigned : a.size > b.size ? a.unsigned : b.unsigned;
    return [wrap(a.value, size, unsigned), wrap(b.value, size, unsigned)];
  }

  private expect(text: string): void {
    const t = this.source.peek();
    if (t.kind !== 'punctuator' || t.text !== text) this.source.fail(`expected '${text}'`, t);
    this.source.next();
  }
}
