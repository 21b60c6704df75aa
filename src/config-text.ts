// Configuration files: read, and parsed as YAML (of which JSON is a part), a syntax error one line naming the file and line.
import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { UsageError, kernelError } from './errors.js';
import { printable } from './text.js';

/** A file's text; a file that cannot be read is one error saying what it was for. */
export function readConfigFile(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw kernelError(`reading ${what} ${printable(path)}`, error);
  }
}

/** The plain value a YAML or JSON text holds (null when empty); duplicate keys and syntax errors are a UsageError "SOURCE:LINE: not YAML or JSON: ...". */
export function parseConfigText(text: string, source: string): unknown {
  const document = parseDocument(text, { uniqueKeys: true });
  const [error] = document.errors;
  if (error) {
    const line = error.linePos?.[0]?.line;
    // The first line of the message; the position goes before it, as compilers write it.
    const words = error.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
    throw new UsageError(`${source}${line === undefined ? '' : `:${line}`}: not YAML or JSON: ${words}`);
  }
  return document.toJS() as unknown;
}

/** Whether a parsed value is a mapping (not a list, not a scalar). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
