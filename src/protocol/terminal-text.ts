/**
 * Text from the network on its way to a terminal. A peer controls message
 * texts, client and node names, close reasons and error texts; written raw,
 * a `\n` forges a log line and an escape sequence recolours the screen,
 * clears it (`ESC [2J`) or writes the operator's clipboard (OSC 52). Pure.
 *
 * What is escaped, and why:
 * - every control character (Unicode Cc): C0 (U+0000–U+001F, tab and newline
 *   included: they forge columns and lines), DEL, and C1 (U+0080–U+009F:
 *   U+009B is a one-character CSI to terminals that honour 8-bit controls);
 * - bidirectional controls (U+061C, U+200E/F, U+202A–U+202E, U+2066–U+2069):
 *   they reorder what the operator reads ("Trojan Source");
 * - the line and paragraph separators U+2028/U+2029 (log viewers break lines there);
 * - lone surrogates: not text at all; a terminal would get U+FFFD and the
 *   operator would never know what was sent.
 * Everything else, emoji and every script included, and the backslash, is
 * shown as it is: escaping the backslash too would make every Windows path
 * and regex in a message harder to read, and a literal `\n` typed by a peer
 * cannot break a line, which is what matters.
 */

const UNSAFE = /[\p{Cc}\p{Bidi_Control}\p{Zl}\p{Zp}\p{Cs}]/u
const UNSAFE_ALL = /[\p{Cc}\p{Bidi_Control}\p{Zl}\p{Zp}\p{Cs}]/gu
const NAMED: Readonly<Record<string, string>> = {'\n': '\\n', '\r': '\\r', '\t': '\\t'}

/**
 * `text` with every character a terminal could act on written as a visible
 * JavaScript-style escape: `\n`, `\r`, `\t`, `\xNN` below U+0100 (`\x1b`,
 * `\x9b`), `\uNNNN` above (`\u202e`, a lone `\ud800`). Printable text comes
 * back unchanged, as the same string.
 */
export function escapeForTerminal(text: string): string {
  if (!UNSAFE.test(text)) return text
  return text.replace(UNSAFE_ALL, (ch) => NAMED[ch] ?? codeEscape(ch.charCodeAt(0)))
}

/**
 * What JSON.stringify leaves raw though a terminal acts on it: DEL, C1 controls,
 * bidi controls and U+2028/U+2029 (C0, quotes and lone surrogates it
 * escapes itself).
 */
const JSON_RAW_ALL = /[\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/g
const JSON_RAW = /[\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/

/**
 * JSON text (from JSON.stringify) with the characters it leaves raw written
 * as `\uNNNN` escapes: the value a program parses is exactly the same, and
 * NDJSON shown in a terminal cannot drive it. Such characters can only occur
 * inside JSON strings, where `\uNNNN` means the same character.
 */
export function jsonForTerminal(json: string): string {
  if (!JSON_RAW.test(json)) return json
  return json.replace(JSON_RAW_ALL, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

function codeEscape(code: number): string {
  return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`
}
