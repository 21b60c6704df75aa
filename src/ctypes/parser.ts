// C declarations -> the header's types in a Scope: struct, union, enum and typedef definitions with their layouts; functions and variables are read and dropped.
import { ObjectError } from '../errors.js';
import { closestNames, printable } from '../text.js';
import { keywordType, TYPE_KEYWORDS, type Length } from './builtins.js';
import { evaluate, valueOf, type CValue, type ExpressionSource, type TypeTraits } from './expression.js';
import { enumLayout, layoutRecord, type RecordAttributes } from './layout.js';
import { tokensText, type Token } from './lexer.js';
import { functionMacroReason } from './preprocess.js';
import type { Scope } from './scope.js';
import {
  alignOf,
  describe,
  integerOf,
  resolve,
  sameType,
  sizeOf,
  type CArray,
  type CEnum,
  type CEnumerator,
  type CMember,
  type CParameter,
  type CRecord,
  type CType,
  type Qualifier,
} from './types.js';

/** Structs in structs, declarators in declarators, casts in array sizes: deeper than any real header. */
const MAX_NESTING = 64;
/** Pointers, array dimensions and parameter lists in one declarator. */
const MAX_DERIVATIONS = 64;
/** A message shows at most this much of the declaration it could not read. */
const MAX_SHOWN = 100;

const QUALIFIERS: ReadonlyMap<string, Qualifier | null> = new Map([
  ['const', 'const'],
  ['__const', 'const'],
  ['__const__', 'const'],
  ['volatile', 'volatile'],
  ['__volatile', 'volatile'],
  ['__volatile__', 'volatile'],
  ['restrict', 'restrict'],
  ['__restrict', 'restrict'],
  ['__restrict__', 'restrict'],
  // Words BTF has no record for.
  ['_Atomic', null],
  ['__extension__', null],
]);

/** Storage classes and function specifiers: they say where a function or variable lives, and this reader keeps neither. */
const STORAGE = new Set(['static', 'extern', 'inline', '__inline', '__inline__', 'register', 'auto', '_Thread_local', '__thread', '_Noreturn']);
/** Words that mark a declaration as a function's or variable's (skipped whole when it cannot be read). */
const SKIPPABLE = new Set([...STORAGE, '__always_inline', '__noinline', '__weak']);

const ATTRIBUTE_WORDS = new Set(['__attribute__', '__attribute', '_Alignas', 'alignas', '__asm__', '__asm', 'asm']);

/** Keywords, which cannot name what is declared. */
const KEYWORDS = new Set([...TYPE_KEYWORDS, ...STORAGE, ...QUALIFIERS.keys(), ...ATTRIBUTE_WORDS, 'struct', 'union', 'enum', 'typedef', 'sizeof']);

interface Specifiers {
  readonly type: CType;
  readonly typedef: boolean;
  readonly attributes: RecordAttributes;
}

type Suffix = { readonly token: Token; readonly kind: 'array'; readonly length: number | undefined } | { readonly token: Token; readonly kind: 'function'; readonly params: CParameter[]; readonly variadic: boolean };

interface Declarator {
  readonly name: Token | undefined;
  /** The declared type, given the specifiers' type. */
  apply(base: CType): CType;
}

/** Reads every declaration of the tokens into `scope`; `macroNames` are for suggestions. */
export function parseDeclarations(tokens: readonly Token[], scope: Scope, macroNames: readonly string[]): void {
  new Parser(tokens, scope, macroNames).run();
}

/** A struct's or union's member names as C sees them: an anonymous member's are its own. */
function memberNames(record: CRecord): string[] {
  return (record.members ?? []).flatMap((m) => {
    const t = m.type;
    return m.name !== '' ? [m.name] : t.kind === 'struct' || t.kind === 'union' ? memberNames(t) : [];
  });
}

class Parser implements ExpressionSource {
  private at = 0;
  /** Where the declarations being read start (a struct's, then its member's): what messages show. */
  private readonly starts: number[] = [];
  private nesting = 0;
  private readonly defining = new Set<CRecord | CEnum>();

  constructor(
    private readonly tokens: readonly Token[],
    private readonly scope: Scope,
    private readonly macroNames: readonly string[],
  ) {}

  run(): void {
    while (this.peek().kind !== 'end') this.externalDeclaration();
  }

  // --- tokens ------------------------------------------------------------------------------

  peek(ahead = 0): Token {
    return this.tokens[Math.min(this.at + ahead, this.tokens.length - 1)]!;
  }

  next(): Token {
    const t = this.peek();
    if (this.at < this.tokens.length - 1) this.at++;
    return t;
  }

  private is(text: string, ahead = 0): boolean {
    const t = this.peek(ahead);
    return t.kind === 'punctuator' && t.text === text;
  }

  private accept(text: string): boolean {
    if (!this.is(text)) return false;
    this.next();
    return true;
  }

  private expect(text: string): Token {
    if (!this.is(text)) this.fail(`expected '${text}'`);
    return this.next();
  }

  private enter(): void {
    if (++this.nesting > MAX_NESTING) this.fail(`declarations nest more than ${MAX_NESTING} deep`);
  }

  private leave(): void {
    this.nesting--;
  }

  // --- messages ----------------------------------------------------------------------------

  /** Throws "file:line: cannot read 'declaration so far' (reason)". */
  fail(reason: string, at: Token = this.peek()): never {
    const start = this.starts[this.starts.length - 1] ?? this.at;
    let end = this.indexOf(at, start);
    // The token that ends a declaration is not shown: "struct x y[z", not "struct x y[z;".
    if (end > start && (at.kind === 'end' || (at.kind === 'punctuator' && (at.text === ';' || at.text === '}')))) end--;
    this.throwAt(start, end, reason, at);
  }

  /** As fail(), showing the whole declaration: the name at fault is in it, and what follows says what it was for. */
  private failWhole(reason: string, at: Token): never {
    const start = this.starts[this.starts.length - 1] ?? this.at;
    const from = this.indexOf(at, start);
    let end = from;
    let depth = 0;
    for (let k = start; k < this.tokens.length && k - from < 40; k++) {
      const t = this.tokens[k]!;
      if (t.kind === 'end' || (k > from && depth <= 0 && t.kind === 'punctuator' && (t.text === ';' || t.text === '{' || t.text === '}'))) break;
      if (t.kind === 'punctuator' && (t.text === '(' || t.text === '[')) depth++;
      if (t.kind === 'punctuator' && (t.text === ')' || t.text === ']')) depth--;
      end = Math.max(end, k);
    }
    this.throwAt(start, end, reason, at);
  }

  private indexOf(token: Token, from: number): number {
    const found = this.tokens.indexOf(token, from);
    return found >= 0 ? found : this.at;
  }

  private throwAt(start: number, end: number, reason: string, at: Token): never {
    const first = this.tokens[start]!;
    // At the end of the file, the line that matters is where the declaration began.
    const where = at.kind === 'end' ? first : at;
    let text = tokensText(this.tokens.slice(start, end + 1));
    if (text.length > MAX_SHOWN) text = `${text.slice(0, 60)} ... ${text.slice(-30)}`;
    const why = at.kind === 'end' ? `${reason} before the end of the file` : reason;
    throw new ObjectError(`${where.file}:${where.line}: cannot read '${printable(text)}' (${printable(why)})`);
  }

  private unknownTypeReason(name: string): string {
    const near = closestNames(name, this.scope.typeNames(), 3);
    return `unknown type name '${name}'${near.length > 0 ? `; did you mean ${near.map((n) => `'${n}'`).join(', ')}?` : ''}`;
  }

  // --- declarations ------------------------------------------------------------------------

  private externalDeclaration(): void {
    const start = this.at;
    this.starts.push(start);
    try {
      this.declaration();
    } catch (error) {
      // A static or extern function or variable (an inline helper, often with macros of its own) gives no
      // types: when this reader cannot follow one, it skips it whole.
      if (!(error instanceof ObjectError) || !this.skippable(start)) throw error;
      this.at = start;
      this.nesting = 0;
      this.defining.clear();
      this.skipDeclaration();
    } finally {
      this.starts.pop();
    }
  }

  private declaration(): void {
    if (this.accept(';') || this.staticAssert()) return;
    const specifiers = this.specifiers();
    if (this.accept(';')) return;
    for (;;) {
      const attributes: RecordAttributes = { ...specifiers.attributes };
      const declarator = this.declarator('named', attributes);
      this.attributes(attributes);
      const type = declarator.apply(specifiers.type);
      if (specifiers.typedef) this.defineTypedef(declarator.name!, type, attributes);
      else if (type.kind === 'function' && this.is('{')) {
        this.skipBalanced('{', '}');
        return;
      }
      if (this.accept('=')) this.skipInitializer();
      if (this.accept(',')) continue;
      this.expect(';');
      return;
    }
  }

  private defineTypedef(name: Token, type: CType, attributes: RecordAttributes): void {
    const existing = this.scope.typedefs.get(name.text);
    if (existing) {
      if (sameType(existing.target, type) && existing.align === attributes.align) return;
      this.fail(`'${name.text}' is already a typedef of ${describe(existing.target)}`, name);
    }
    const typedef = { kind: 'typedef', name: name.text, target: type, align: attributes.align } as const;
    this.scope.typedefs.set(name.text, typedef);
    this.scope.declared.push(typedef);
  }

  private skippable(start: number): boolean {
    let depth = 0;
    for (let k = start; k < this.tokens.length && k - start < 64; k++) {
      const t = this.tokens[k]!;
      if (t.kind === 'end' || (depth === 0 && (t.text === ';' || t.text === '{' || t.text === '='))) return false;
      if (t.kind === 'identifier' && SKIPPABLE.has(t.text)) return true;
      if (t.text === '(') depth++;
      if (t.text === ')') depth--;
    }
    return false;
  }

  /** Past a declaration: to its ';', or to the '}' of a function body. */
  private skipDeclaration(): void {
    for (;;) {
      const t = this.peek();
      if (t.kind === 'end') this.fail("expected ';' or a function body");
      if (this.is(';')) {
        this.next();
        return;
      }
      if (this.is('(')) this.skipBalanced('(', ')');
      else if (this.is('[')) this.skipBalanced('[', ']');
      else if (this.is('{')) {
        const body = this.at > 0 && this.tokens[this.at - 1]!.text === ')';
        this.skipBalanced('{', '}');
        if (body) return;
      } else this.next();
    }
  }

  /** From an opening bracket past its match. */
  private skipBalanced(open: string, close: string): void {
    const first = this.expect(open);
    let depth = 1;
    while (depth > 0) {
      const t = this.next();
      if (t.kind === 'end') this.fail(`expected '${close}' to match the '${open}' on line ${first.line}`, t);
      if (t.kind === 'punctuator' && t.text === open) depth++;
      else if (t.kind === 'punctuator' && t.text === close) depth--;
    }
  }

  private skipInitializer(): void {
    while (!this.is(',') && !this.is(';')) {
      if (this.peek().kind === 'end') this.fail("expected ';'");
      if (this.is('(')) this.skipBalanced('(', ')');
      else if (this.is('[')) this.skipBalanced('[', ']');
      else if (this.is('{')) this.skipBalanced('{', '}');
      else this.next();
    }
  }

  private staticAssert(): boolean {
    const t = this.peek();
    if (t.kind !== 'identifier' || (t.text !== '_Static_assert' && t.text !== 'static_assert')) return false;
    this.next();
    this.skipBalanced('(', ')');
    this.expect(';');
    return true;
  }

  // --- specifiers --------------------------------------------------------------------------

  private specifiers(): Specifiers {
    this.enter();
    let typedef = false;
    const attributes: RecordAttributes = { packed: false };
    const qualifiers: Qualifier[] = [];
    let signedness: 'signed' | 'unsigned' | undefined;
    let length: Length | undefined;
    let keyword: string | undefined;
    let named: CType | undefined;
    for (;;) {
      const t = this.peek();
      if (t.kind !== 'identifier') break;
      const word = t.text;
      const qualifier = QUALIFIERS.get(word);
      if (word === 'typedef') typedef = true;
      else if (STORAGE.has(word)) {
        // Dropped with the function or variable it belongs to.
      } else if (qualifier !== undefined) {
        if (qualifier !== null && !qualifiers.includes(qualifier)) qualifiers.push(qualifier);
      } else if (ATTRIBUTE_WORDS.has(word)) {
        this.attributes(attributes);
        continue;
      } else if (TYPE_KEYWORDS.has(word) && named === undefined) {
        if (word === 'unsigned' || word.startsWith('__signed') || word === 'signed') {
          const s = word === 'unsigned' ? 'unsigned' : 'signed';
          if (signedness !== undefined) this.fail(`'${signedness}' and then '${s}'`, t);
          signedness = s;
        } else if (word === 'short' || word === 'long') {
          const longer: Length | undefined = word === 'short' ? (length === undefined ? 'short' : undefined) : length === undefined ? 'long' : length === 'long' ? 'long long' : undefined;
          if (longer === undefined) this.fail(`'${length}' and then '${word}'`, t);
          length = longer;
        } else {
          if (keyword !== undefined) this.fail(`'${keyword}' and then '${word}'`, t);
          keyword = word;
        }
      } else if ((word === 'struct' || word === 'union' || word === 'enum') && named === undefined && keyword === undefined && signedness === undefined && length === undefined) {
        named = this.tagged();
        continue;
      } else if (named !== undefined || keyword !== undefined || signedness !== undefined || length !== undefined) {
        break;
      } else {
        // No type yet: this name must be one.
        if (t.functionMacro) this.failWhole(functionMacroReason(word), t);
        named = this.scope.typedef(word);
        if (named === undefined) this.failWhole(this.unknownTypeReason(word), t);
      }
      this.next();
    }
    let type: CType;
    if (named !== undefined) type = named;
    else {
      const base = keywordType(keyword, signedness, length);
      if (typeof base === 'string') this.fail(base);
      type = base;
    }
    for (const qualifier of qualifiers) type = { kind: 'qualified', qualifier, target: type };
    this.leave();
    return { type, typedef, attributes };
  }

  /** __attribute__((...)), _Alignas(...) and asm("...") here; packed and aligned are kept. Whether there were any. */
  private attributes(into: RecordAttributes): boolean {
    let any = false;
    for (;;) {
      const t = this.peek();
      if (t.kind !== 'identifier' || !ATTRIBUTE_WORDS.has(t.text)) return any;
      any = true;
      this.next();
      if (t.text.startsWith('__attribute')) this.attributeList(into);
      else if (t.text.includes('asm')) this.skipBalanced('(', ')');
      else {
        // _Alignas(type) or _Alignas(constant).
        const type = this.typeName();
        if (type === undefined) {
          this.expect('(');
          this.align(into, this.constant(), t);
          this.expect(')');
        } else this.align(into, type.align ?? 1, t);
      }
    }
  }

  private attributeList(into: RecordAttributes): void {
    this.expect('(');
    this.expect('(');
    while (!this.accept(')')) {
      if (this.accept(',')) continue;
      const name = this.next();
      if (name.kind !== 'identifier') this.fail('expected an attribute name', name);
      const word = name.text.replace(/^__(.+)__$/, '$1');
      if (word === 'packed') into.packed = true;
      if (word === 'aligned' && this.accept('(')) {
        this.align(into, this.constant(), name);
        this.expect(')');
      } else if (word === 'aligned') this.align(into, 16, name);
      else if (this.is('(')) this.skipBalanced('(', ')');
    }
    this.expect(')');
  }

  private align(into: RecordAttributes, value: number, at: Token): void {
    if (value <= 0 || value > 1 << 28 || (value & (value - 1)) !== 0) this.fail(`alignment ${value} is not a power of 2`, at);
    into.align = Math.max(into.align ?? 1, value);
  }

  /** struct/union/enum: a reference to a tag, or a definition. */
  private tagged(): CType {
    const keyword = this.next().text as 'struct' | 'union' | 'enum';
    const attributes: RecordAttributes = { packed: false };
    this.attributes(attributes);
    const tag = this.peek().kind === 'identifier' ? this.next() : undefined;
    this.attributes(attributes);
    if (this.is('{')) return keyword === 'enum' ? this.enumBody(tag, attributes) : this.recordBody(keyword, tag, attributes);
    if (tag === undefined) this.fail(`expected a name or '{' after '${keyword}'`);
    const existing = this.scope.tags.get(tag.text);
    if (existing !== undefined) {
      if (existing.kind !== keyword) this.fail(`'${tag.text}' is a ${existing.kind}, not a ${keyword}`, tag);
      return existing;
    }
    const declared: CRecord | CEnum = keyword === 'enum' ? { kind: 'enum', tag: tag.text, size: 4, signed: false } : { kind: keyword, tag: tag.text };
    this.scope.tags.set(tag.text, declared);
    return declared;
  }

  /** The tag's type to define: the one declared before, or a new one. */
  private definable<T extends CRecord | CEnum>(keyword: T['kind'], tag: Token | undefined, create: () => T): T {
    if (tag === undefined) return create();
    const existing = this.scope.tags.get(tag.text);
    if (existing === undefined) {
      const created = create();
      this.scope.tags.set(tag.text, created);
      return created;
    }
    if (existing.kind !== keyword) this.fail(`'${tag.text}' is a ${existing.kind}, not a ${keyword}`, tag);
    const defined = existing.kind === 'enum' ? existing.values !== undefined : existing.members !== undefined;
    if (defined || this.defining.has(existing)) this.fail(`${keyword} ${tag.text} is defined twice`, tag);
    return existing as T;
  }

  private recordBody(kind: 'struct' | 'union', tag: Token | undefined, attributes: RecordAttributes): CRecord {
    this.enter();
    const record = this.definable(kind, tag, (): CRecord => ({ kind, tag: tag?.text ?? '' }));
    const open = this.expect('{');
    this.defining.add(record);
    const members: CMember[] = [];
    const names = new Set<string>();
    while (!this.is('}')) {
      if (this.peek().kind === 'end') this.fail(`expected '}' to close the '{' on line ${open.line}`);
      this.memberDeclaration(members, names);
    }
    const close = this.next();
    this.attributes(attributes);
    this.defining.delete(record);
    const layout = layoutRecord(kind, members, attributes, (reason) => this.fail(reason, close));
    // BTF keeps a bitfield's offset in 24 bits.
    if (members.some((m) => m.bits !== undefined) && layout.size * 8 >= 1 << 24) this.fail(`${layout.size} bytes with bitfields: BTF holds their offsets up to 2 MiB`, close);
    record.members = members;
    record.layout = layout;
    if (record.tag !== '') this.scope.declared.push(record);
    this.leave();
    return record;
  }

  /** Reads one member declaration into `members`; `names` are the names already used, an anonymous member's included (they are the outer one's, in C and in decoded values). */
  private memberDeclaration(members: CMember[], names: Set<string>): void {
    this.starts.push(this.at);
    try {
      if (this.accept(';') || this.staticAssert()) return;
      const specifiers = this.specifiers();
      if (specifiers.typedef) this.fail('a typedef in a struct');
      const semicolon = this.peek();
      if (this.accept(';')) {
        // An untagged struct or union with no name: its members are the outer one's (C11 anonymous members).
        const t = specifiers.type;
        if ((t.kind === 'struct' || t.kind === 'union') && t.tag === '') {
          for (const name of memberNames(t)) this.claim(names, name, semicolon);
          members.push({ name: '', type: t, packed: false });
        }
        return;
      }
      for (;;) {
        const attributes: RecordAttributes = { ...specifiers.attributes };
        const first = this.peek();
        const declarator = this.is(':') ? undefined : this.declarator('named', attributes);
        const type = declarator ? declarator.apply(specifiers.type) : specifiers.type;
        let bits: number | undefined;
        if (this.accept(':')) bits = this.bitfieldWidth(type, declarator?.name, first);
        this.attributes(attributes);
        const name = declarator?.name?.text ?? '';
        if (bits === undefined) this.checkMemberType(type, first);
        if (name !== '') this.claim(names, name, declarator!.name!);
        members.push({ name, type, bits, align: attributes.align, packed: attributes.packed });
        if (this.accept(',')) continue;
        this.expect(';');
        return;
      }
    } finally {
      this.starts.pop();
    }
  }

  private claim(names: Set<string>, name: string, at: Token): void {
    if (names.has(name)) this.fail(`a second member named '${name}'`, at);
    names.add(name);
  }

  private bitfieldWidth(type: CType, name: Token | undefined, at: Token): number {
    const integer = integerOf(type);
    if (integer === undefined || resolve(type).kind === 'pointer') this.failWhole(`a bitfield of ${describe(type)}: bitfields are integers`, at);
    const width = this.constant();
    const limit = integer.bool ? 1 : integer.size * 8;
    if (width < 0 || width > limit) this.fail(`a width of ${width}: the type has ${limit} bits`);
    if (width === 0 && name !== undefined) this.fail(`the named bitfield '${name.text}' has width 0`);
    return width;
  }

  private checkMemberType(type: CType, at: Token): void {
    const t = resolve(type);
    if (t.kind === 'function') this.failWhole('a member cannot be a function (a pointer to one can)', at);
    if (t.kind === 'array' && t.length === undefined) return;
    this.requireComplete(type, at);
  }

  /** A type used by value must be complete: a declared-only struct is taken from the object's BTF, or refused. */
  private requireComplete(type: CType, at: Token): void {
    const t = resolve(type);
    if (t.kind === 'struct' || t.kind === 'union' || t.kind === 'enum') {
      if (this.defining.has(t)) this.failWhole(`${describe(t)} cannot contain itself (a pointer to it can)`, at);
      if (!this.scope.complete(t)) this.failWhole(`${describe(type)} is declared but not defined, here or in the object's BTF`, at);
    }
    if (sizeOf(type) === undefined) this.failWhole(`${describe(type)} has no size`, at);
  }

  private enumBody(tag: Token | undefined, attributes: RecordAttributes): CEnum {
    const type = this.definable('enum', tag, (): CEnum => ({ kind: 'enum', tag: tag?.text ?? '', size: 4, signed: false }));
    const open = this.expect('{');
    this.defining.add(type);
    const values: CEnumerator[] = [];
    let value = 0n;
    while (!this.accept('}')) {
      const name = this.next();
      if (name.kind === 'end') this.fail(`expected '}' to close the '{' on line ${open.line}`, name);
      if (name.kind !== 'identifier') this.fail('expected the name of an enumerator', name);
      this.attributes({ packed: false });
      if (this.accept('=')) value = this.constantValue().value;
      if (this.scope.enumerators.has(name.text)) this.fail(`'${name.text}' is already an enumerator`, name);
      values.push({ name: name.text, value });
      // Known at once: a later enumerator may be defined from it.
      this.scope.enumerators.set(name.text, value);
      value++;
      if (!this.accept(',')) {
        this.expect('}');
        break;
      }
    }
    this.attributes(attributes);
    this.defining.delete(type);
    const layout = enumLayout(
      values.map((v) => v.value),
      attributes.packed,
    );
    if (layout === undefined) this.fail('its values do not fit one 64-bit integer');
    type.values = values;
    type.size = layout.size;
    type.signed = layout.signed;
    this.scope.declared.push(type);
    return type;
  }

  // --- declarators -------------------------------------------------------------------------

  /** '*'s, a name (or none, in an abstract declarator), or a declarator in parentheses; then array and parameter lists. */
  private declarator(mode: 'named' | 'abstract' | 'either', attributes: RecordAttributes): Declarator {
    this.enter();
    const pointers: Qualifier[][] = [];
    while (this.accept('*')) {
      const qualifiers: Qualifier[] = [];
      for (;;) {
        const q = QUALIFIERS.get(this.peek().text);
        if (q !== undefined && this.peek().kind === 'identifier') {
          if (q !== null) qualifiers.push(q);
          this.next();
        } else if (!this.attributes(attributes)) break;
      }
      pointers.push(qualifiers);
      if (pointers.length > MAX_DERIVATIONS) this.fail(`more than ${MAX_DERIVATIONS} pointers`);
    }
    this.attributes(attributes);
    let inner: Declarator | undefined;
    let name: Token | undefined;
    const t = this.peek();
    if (this.is('(') && this.nestedDeclarator(mode)) {
      this.next();
      inner = this.declarator(mode, attributes);
      this.expect(')');
    } else if (t.kind === 'identifier' && mode !== 'abstract' && !KEYWORDS.has(t.text)) {
      name = this.next();
    } else if (mode === 'named') {
      this.fail(t.kind === 'identifier' || t.kind === 'end' ? 'expected a name' : `expected a name, found '${t.text}'`);
    }
    const suffixes: Suffix[] = [];
    for (;;) {
      const token = this.peek();
      if (this.accept('[')) {
        // `[static 4]` and `[const]` in parameters say nothing of the type's layout.
        while (this.peek().kind === 'identifier' && (this.peek().text === 'static' || QUALIFIERS.has(this.peek().text))) this.next();
        const length = this.is(']') ? undefined : this.arrayLength();
        this.expect(']');
        suffixes.push({ token, kind: 'array', length });
      } else if (this.accept('(')) {
        suffixes.push({ token, kind: 'function', ...this.parameters() });
      } else break;
      if (suffixes.length > MAX_DERIVATIONS) this.fail(`more than ${MAX_DERIVATIONS} array dimensions and parameter lists`);
    }
    this.leave();
    return {
      name: name ?? inner?.name,
      apply: (base) => {
        let type = base;
        for (const qualifiers of pointers) {
          type = { kind: 'pointer', target: type };
          for (const qualifier of qualifiers) type = { kind: 'qualified', qualifier, target: type };
        }
        for (let k = suffixes.length - 1; k >= 0; k--) type = this.derive(type, suffixes[k]!);
        return inner ? inner.apply(type) : type;
      },
    };
  }

  /** After '(' in a declarator: a declarator in parentheses, or (in an abstract one) a parameter list. */
  private nestedDeclarator(mode: 'named' | 'abstract' | 'either'): boolean {
    if (mode === 'named') return true;
    const t = this.peek(1);
    if (t.kind === 'punctuator') return t.text === '*' || t.text === '(';
    if (t.kind !== 'identifier') return false;
    return ATTRIBUTE_WORDS.has(t.text) || (mode === 'either' && !this.typeStart(t));
  }

  private derive(type: CType, suffix: Suffix): CType {
    const t = resolve(type);
    if (suffix.kind === 'function') {
      if (t.kind === 'array' || t.kind === 'function') this.failWhole(`a function cannot return ${t.kind === 'array' ? 'an array' : 'a function'}`, suffix.token);
      return { kind: 'function', returns: type, params: suffix.params, variadic: suffix.variadic };
    }
    if (t.kind === 'function') this.failWhole('an array of functions (an array of pointers to them can be)', suffix.token);
    this.requireComplete(type, suffix.token);
    const element = sizeOf(type)!;
    const size = suffix.length === undefined ? undefined : element * suffix.length;
    if (size !== undefined && size > 0xffffffff) this.fail(`an array of ${size} bytes: BTF sizes stop at 4 GiB`, suffix.token);
    const array: CArray = { kind: 'array', element: type, length: suffix.length, size, align: alignOf(type) ?? 1 };
    return array;
  }

  private arrayLength(): number {
    const length = this.constantValue();
    if (length.value < 0n) this.fail(`an array of ${length.value} elements`);
    if (length.value > 0xffffffffn) this.fail(`an array of ${length.value} elements: BTF counts to 2^32 - 1`);
    return Number(length.value);
  }

  private parameters(): { params: CParameter[]; variadic: boolean } {
    const params: CParameter[] = [];
    let variadic = false;
    if (this.accept(')')) return { params, variadic };
    if (this.peek().text === 'void' && this.is(')', 1)) {
      this.next();
      this.next();
      return { params, variadic };
    }
    for (;;) {
      if (this.accept('...')) {
        variadic = true;
        this.expect(')');
        break;
      }
      const specifiers = this.specifiers();
      const declarator = this.declarator('either', { packed: false });
      let type = declarator.apply(specifiers.type);
      // Array and function parameters are pointers, as in C.
      const t = resolve(type);
      if (t.kind === 'array') type = { kind: 'pointer', target: t.element };
      else if (t.kind === 'function') type = { kind: 'pointer', target: type };
      params.push({ name: declarator.name?.text ?? '', type });
      if (this.accept(',')) continue;
      this.expect(')');
      break;
    }
    return { params, variadic };
  }

  // --- constant expressions ----------------------------------------------------------------

  private constantValue(): CValue {
    return evaluate(this, 'c');
  }

  private constant(): number {
    const v = this.constantValue().value;
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < -BigInt(Number.MAX_SAFE_INTEGER)) this.fail(`${v} is too large here`);
    return Number(v);
  }

  identifier(name: Token): CValue {
    if (name.functionMacro) this.failWhole(functionMacroReason(name.text), name);
    const value = this.scope.enumerator(name.text);
    if (value !== undefined) return valueOf(value);
    const near = closestNames(name.text, [...this.macroNames, ...this.scope.enumerators.keys()], 3);
    this.failWhole(`'${name.text}' is not a constant: no #define or enumerator of the header or the object's BTF names it${near.length > 0 ? `; did you mean ${near.map((n) => `'${n}'`).join(', ')}?` : ''}`, name);
  }

  typeName(): TypeTraits | undefined {
    if (!this.is('(') || !this.typeStart(this.peek(1))) return undefined;
    this.next();
    this.enter();
    const specifiers = this.specifiers();
    const type = this.declarator('abstract', { packed: false }).apply(specifiers.type);
    this.expect(')');
    this.leave();
    const t = resolve(type);
    if (t.kind === 'struct' || t.kind === 'union' || t.kind === 'enum') this.scope.complete(t);
    return { size: sizeOf(type), align: alignOf(type), integer: integerOf(type), name: describe(type) };
  }

  private typeStart(t: Token): boolean {
    if (t.kind !== 'identifier' || t.functionMacro) return false;
    const word = t.text;
    return (
      TYPE_KEYWORDS.has(word) ||
      QUALIFIERS.has(word) ||
      word === 'struct' ||
      word === 'union' ||
      word === 'enum' ||
      word.startsWith('__attribute') ||
      this.scope.typedef(word) !== undefined
    );
  }
}
