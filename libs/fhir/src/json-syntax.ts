/**
 * Locates the first syntax error in a JSON text, by byte offset and a reason from a fixed list.
 * Used only after `JSON.parse` failed: V8's own messages quote the input around the error, so
 * they can never be passed on (they would carry PHI into logs and quarantine reasons).
 * Iterative (no recursion), so deep nesting cannot overflow the stack.
 *
 * @see https://www.rfc-editor.org/rfc/rfc8259
 */

export type JsonSyntaxReason =
  | 'unexpected_end'
  | 'unexpected_character'
  | 'invalid_string_escape'
  | 'control_character_in_string'
  | 'invalid_number'
  | 'trailing_content'
  | 'unknown';

export interface JsonSyntaxError {
  /** Byte offset into the scanned bytes. */
  readonly position: number;
  readonly reason: JsonSyntaxReason;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const ESCAPES = new Set([...'"\\/bfnrt'].map((c) => c.charCodeAt(0)));
const U = 0x75;

/** Returns where `bytes` stops being JSON, or `{ reason: 'unknown' }` if the scanner finds no error. */
export function locateJsonError(bytes: Uint8Array): JsonSyntaxError {
  let i = 0;
  const stack: number[] = []; // '{' or '[' of each open container
  let opened = false; // the top container was just opened and has no member yet
  const fail = (reason: JsonSyntaxReason): JsonSyntaxError => ({
    position: Math.min(i, bytes.length),
    reason,
  });
  const atEnd = (): boolean => i >= bytes.length;
  const skipSpace = (): void => {
    while (
      i < bytes.length &&
      (bytes[i] === 0x20 || bytes[i] === 0x09 || bytes[i] === 0x0a || bytes[i] === 0x0d)
    )
      i++;
  };
  const isDigit = (c: number | undefined): boolean => c !== undefined && c >= 0x30 && c <= 0x39;
  const isHex = (c: number | undefined): boolean =>
    c !== undefined && (isDigit(c) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66));

  const scanString = (): JsonSyntaxError | undefined => {
    i++; // opening quote
    for (;;) {
      const c = bytes[i];
      if (c === undefined) return fail('unexpected_end');
      if (c === QUOTE) {
        i++;
        return undefined;
      }
      if (c < 0x20) return fail('control_character_in_string');
      if (c === BACKSLASH) {
        i++;
        const e = bytes[i];
        if (e === undefined) return fail('unexpected_end');
        if (e === U) {
          for (let k = 1; k <= 4; k++) {
            if (i + k >= bytes.length) return fail('unexpected_end');
            if (!isHex(bytes[i + k])) return fail('invalid_string_escape');
          }
          i += 5;
        } else if (ESCAPES.has(e)) {
          i++;
        } else {
          return fail('invalid_string_escape');
        }
      } else {
        i++;
      }
    }
  };

  const scanNumber = (): JsonSyntaxError | undefined => {
    if (bytes[i] === 0x2d) i++;
    if (bytes[i] === 0x30) i++;
    else if (isDigit(bytes[i])) while (isDigit(bytes[i])) i++;
    else return atEnd() ? fail('unexpected_end') : fail('invalid_number');
    if (bytes[i] === 0x2e) {
      i++;
      if (!isDigit(bytes[i])) return atEnd() ? fail('unexpected_end') : fail('invalid_number');
      while (isDigit(bytes[i])) i++;
    }
    if (bytes[i] === 0x65 || bytes[i] === 0x45) {
      i++;
      if (bytes[i] === 0x2b || bytes[i] === 0x2d) i++;
      if (!isDigit(bytes[i])) return atEnd() ? fail('unexpected_end') : fail('invalid_number');
      while (isDigit(bytes[i])) i++;
    }
    return undefined;
  };

  const scanLiteral = (word: string): JsonSyntaxError | undefined => {
    for (let k = 0; k < word.length; k++, i++) {
      if (atEnd()) return fail('unexpected_end');
      if (bytes[i] !== word.charCodeAt(k)) return fail('unexpected_character');
    }
    return undefined;
  };

  /** Scans one value; containers are opened here and closed by the loop below. */
  const scanValue = (): JsonSyntaxError | undefined => {
    skipSpace();
    const c = bytes[i];
    if (c === undefined) return fail('unexpected_end');
    switch (c) {
      case 0x7b: // {
      case 0x5b: // [
        stack.push(c);
        opened = true;
        i++;
        return undefined;
      case QUOTE:
        return scanString();
      case 0x74:
        return scanLiteral('true');
      case 0x66:
        return scanLiteral('false');
      case 0x6e:
        return scanLiteral('null');
      default:
        return c === 0x2d || isDigit(c) ? scanNumber() : fail('unexpected_character');
    }
  };

  const scanKey = (): JsonSyntaxError | undefined => {
    skipSpace();
    if (atEnd()) return fail('unexpected_end');
    if (bytes[i] !== QUOTE) return fail('unexpected_character');
    const error = scanString();
    if (error !== undefined) return error;
    skipSpace();
    if (atEnd()) return fail('unexpected_end');
    if (bytes[i] !== 0x3a) return fail('unexpected_character');
    i++;
    return undefined;
  };

  const scanMember = (container: number): JsonSyntaxError | undefined =>
    container === 0x7b ? (scanKey() ?? scanValue()) : scanValue();

  let error = scanValue();
  // After a value: close containers, or move on to the next member / element.
  while (error === undefined) {
    const top = stack[stack.length - 1];
    skipSpace();
    if (top === undefined) return atEnd() ? fail('unknown') : fail('trailing_content');
    if (atEnd()) return fail('unexpected_end');
    if (bytes[i] === (top === 0x7b ? 0x7d : 0x5d)) {
      stack.pop();
      opened = false;
      i++;
    } else if (opened) {
      opened = false;
      error = scanMember(top);
    } else if (bytes[i] === 0x2c) {
      i++;
      error = scanMember(top);
    } else {
      return fail('unexpected_character');
    }
  }
  return error;
}
