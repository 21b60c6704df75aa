// Wording: messages that name the library's options, said as the caller's users know them (the command says flags).

/** The options messages name, by their property names in the library's options objects. */
export type OptionName =
  | 'function'
  | 'targets'
  | 'retprobe'
  | 'retprobePrograms'
  | 'usdt'
  | 'programs'
  | 'exclude'
  | 'skipMissing'
  | 'allPrograms'
  | 'mode'
  | 'pid'
  | 'pinRoot'
  | 'kernelConfigFile'
  | 'kernelBtfFile'
  | 'maxEntries'
  | 'globals'
  | 'types'
  | 'perfPages';

/** Names an option in a message, with the value given for it when there is one. */
export type OptionNamer = (option: OptionName, value?: string) => string;

/** Text that may name options: plain, or built by a namer so that each caller names them its way. */
export type Wording = string | ((name: OptionNamer) => string);

/** The library's own naming: "option mode tracefs". */
export const optionProperty: OptionNamer = (option, value) => (value === undefined ? `option ${option}` : `option ${option} ${value}`);

/** The text of a wording, options named by `name` (by default the library's way). */
export function say(wording: Wording, name: OptionNamer = optionProperty): string {
  return typeof wording === 'string' ? wording : wording(name);
}

/** One wording after another. */
export function joined(...parts: Wording[]): Wording {
  return parts.every((p) => typeof p === 'string') ? parts.join('') : (name) => parts.map((p) => say(p, name)).join('');
}
