/**
 * Splits a behaviour line of a trace file (a JSON array of TLC states) into states, and each
 * state into its top-level values as raw JSON text, without parsing the values. The replay
 * parses a value only when its text differs from the previous state's (most steps change one
 * or two variables, and `msgs`, most of a state's text, only grows), and decodes each distinct
 * message text once.
 *
 * @module
 */

/** One TLC state: each top-level field's value as JSON text, in the line's order. */
export type RawState = ReadonlyMap<string, string>;

// The elements of the long array values of each state, where `rawStates` split them.
const ELEMENTS = new WeakMap<RawState, Map<string, readonly string[]>>();

/**
 * The elements of a field's array value, each as its JSON text, when the scan split them (long
 * arrays that changed from the previous state: `msgs`); otherwise `undefined`, and
 * {@linkcode arrayElements} splits the value. An element equal to one of the previous state's
 * is the previous state's string.
 *
 * @param state A state from {@linkcode rawStates}.
 * @param field The field.
 * @returns The elements, or `undefined`.
 */
export function fieldElements(state: RawState, field: string): readonly string[] | undefined {
  return ELEMENTS.get(state)?.get(field);
}

/** Array values at least this long are split element by element against the previous state's. */
const SPLIT_LENGTH_MIN = 256;

const QUOTE = 34;
const BACKSLASH = 92;
const OPEN_BRACKET = 91;
const CLOSE_BRACKET = 93;
const OPEN_BRACE = 123;
const CLOSE_BRACE = 125;
const COMMA = 44;
const COLON = 58;

function isSpace(code: number): boolean {
  return code === 32 || code === 9 || code === 10 || code === 13;
}

function skipSpace(text: string, pos: number): number {
  while (pos < text.length && isSpace(text.charCodeAt(pos))) pos++;
  return pos;
}

function malformed(text: string, pos: number, expected: string): never {
  throw new Error(
    `Malformed TLC JSON at offset ${pos}: expected ${expected}, got ${
      JSON.stringify(text.slice(pos, pos + 40))
    }`,
  );
}

// The index after the closing quote of the string that opens at `pos`.
function stringEnd(text: string, pos: number): number {
  let from = pos + 1;
  for (;;) {
    const quote = text.indexOf('"', from);
    if (quote < 0) malformed(text, pos, "a closed string");
    let backslashes = 0;
    while (text.charCodeAt(quote - 1 - backslashes) === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return quote + 1;
    from = quote + 1;
  }
}

function endsScalar(code: number): boolean {
  return code === COMMA || code === CLOSE_BRACE || code === CLOSE_BRACKET || isSpace(code);
}

/**
 * The end of the JSON value that starts at `pos`: after its closing bracket, brace or quote,
 * or its last character (a number or literal). Only the nesting is checked here; a value's
 * text is validated when it is parsed.
 *
 * @param text The JSON text.
 * @param pos Where the value starts.
 * @returns The index just after the value.
 */
export function valueEnd(text: string, pos: number): number {
  const first = text.charCodeAt(pos);
  if (first === QUOTE) return stringEnd(text, pos);
  if (first === OPEN_BRACKET || first === OPEN_BRACE) {
    let depth = 0;
    let index = pos;
    while (index < text.length) {
      const code = text.charCodeAt(index);
      if (code === QUOTE) {
        // A string: to its closing quote, stepping over escapes.
        index++;
        for (;;) {
          const inner = text.charCodeAt(index);
          if (inner === QUOTE) break;
          if (inner !== inner) malformed(text, pos, "a closed string");
          index += inner === BACKSLASH ? 2 : 1;
        }
      } else if (code === OPEN_BRACKET || code === OPEN_BRACE) depth++;
      else if (code === CLOSE_BRACKET || code === CLOSE_BRACE) {
        depth--;
        if (depth === 0) return index + 1;
      }
      index++;
    }
    malformed(text, pos, "a closed array or object");
  }
  let index = pos;
  while (index < text.length && !endsScalar(text.charCodeAt(index))) index++;
  if (index === pos) malformed(text, pos, "a value");
  return index;
}

// Whether `previous`, the whole text of a field whose value is `value`, is also the field at
// `pos` of `text`.
function sameFieldAt(text: string, pos: number, previous: Field): boolean {
  return sameTextAt(text, pos, previous.text, previous.value.charCodeAt(0));
}

// Whether `whole`, a text that ends with a JSON value whose first character is `first`, is at
// `pos` of `text`: an array, object or string ends where its text ends; a number or literal must
// be followed by a delimiter (1 is a prefix of 12).
function sameTextAt(text: string, pos: number, whole: string, first: number): boolean {
  if (text.slice(pos, pos + whole.length) !== whole) return false;
  if (first === QUOTE || first === OPEN_BRACKET || first === OPEN_BRACE) return true;
  const after = pos + whole.length;
  return after >= text.length || endsScalar(text.charCodeAt(after));
}

/**
 * Splits the array at `pos` of `text` into its elements, taking each of `previous` (the elements
 * of an earlier version of the array, in order) where it recurs, so that only new elements are
 * scanned (a set that only grows, like `msgs`, is scanned once per new message).
 *
 * @param text The JSON text.
 * @param pos Where the array starts (at its `[`).
 * @param previous Elements it probably has, in its order.
 * @returns The index after the array and its elements.
 */
export function splitArrayAt(
  text: string,
  pos: number,
  previous: readonly string[],
): { readonly end: number; readonly elements: string[] } {
  if (text.charCodeAt(pos) !== OPEN_BRACKET) malformed(text, pos, "[");
  const elements: string[] = [];
  let at = skipSpace(text, pos + 1);
  if (text.charCodeAt(at) === CLOSE_BRACKET) return { end: at + 1, elements };
  let next = 0;
  for (;;) {
    const candidate = previous[next];
    let element: string;
    if (candidate !== undefined && sameTextAt(text, at, candidate, candidate.charCodeAt(0))) {
      element = candidate;
      next += 1;
    } else element = text.slice(at, valueEnd(text, at));
    elements.push(element);
    at = skipSpace(text, at + element.length);
    const code = text.charCodeAt(at);
    if (code === CLOSE_BRACKET) return { end: at + 1, elements };
    if (code !== COMMA) malformed(text, at, ", or ]");
    at = skipSpace(text, at + 1);
  }
}

/**
 * The elements of a JSON array, each as its JSON text.
 *
 * @param text The array's JSON text.
 * @returns Each element's text, in order.
 */
export function arrayElements(text: string): string[] {
  let pos = skipSpace(text, 0);
  if (text.charCodeAt(pos) !== OPEN_BRACKET) malformed(text, pos, "[");
  const out: string[] = [];
  pos = skipSpace(text, pos + 1);
  if (text.charCodeAt(pos) === CLOSE_BRACKET) return out;
  for (;;) {
    const end = valueEnd(text, pos);
    out.push(text.slice(pos, end));
    pos = skipSpace(text, end);
    const code = text.charCodeAt(pos);
    if (code === CLOSE_BRACKET) return out;
    if (code !== COMMA) malformed(text, pos, ", or ]");
    pos = skipSpace(text, pos + 1);
  }
}

function key(text: string, pos: number, end: number): string {
  const raw = text.slice(pos + 1, end - 1);
  return raw.includes("\\") ? JSON.parse(text.slice(pos, end)) as string : raw;
}

/**
 * Splits a behaviour line into its states. A value whose text is the same as the previous
 * state's is the previous state's string (so equal texts compare in one step).
 *
 * @param line A behaviour line: a JSON array of JSON objects.
 * @returns Each state's fields.
 */
export function rawStates(line: string): RawState[] {
  const states: Map<string, string>[] = [];
  // The previous state's fields, each as its whole `"name":value` text, in order.
  let previous: Field[] = [];
  let pos = skipSpace(line, 0);
  if (line.charCodeAt(pos) !== OPEN_BRACKET) malformed(line, pos, "[");
  pos = skipSpace(line, pos + 1);
  if (line.charCodeAt(pos) === CLOSE_BRACKET) return states;
  for (;;) {
    if (line.charCodeAt(pos) !== OPEN_BRACE) malformed(line, pos, "{");
    const state = new Map<string, string>();
    const fields: Field[] = [];
    pos = skipSpace(line, pos + 1);
    if (line.charCodeAt(pos) !== CLOSE_BRACE) {
      for (;;) {
        // Most fields are the previous state's field at the same place, name and value.
        const guess = previous[fields.length];
        let field: Field;
        if (guess !== undefined && sameFieldAt(line, pos, guess)) {
          field = guess;
          pos += guess.text.length;
        } else {
          if (line.charCodeAt(pos) !== QUOTE) malformed(line, pos, "a field name");
          const start = pos;
          const nameEnd = stringEnd(line, pos);
          const name = guess !== undefined && guess.nameEnd === nameEnd - start &&
              line.slice(start, nameEnd) === guess.text.slice(0, guess.nameEnd)
            ? guess.name
            : key(line, pos, nameEnd);
          pos = skipSpace(line, nameEnd);
          if (line.charCodeAt(pos) !== COLON) malformed(line, pos, ":");
          const valueStart = skipSpace(line, pos + 1);
          let elements: string[] | undefined;
          const earlier = guess?.name === name ? guess : undefined;
          if (
            earlier !== undefined && line.charCodeAt(valueStart) === OPEN_BRACKET &&
            (earlier.elements !== undefined || earlier.value.length >= SPLIT_LENGTH_MIN)
          ) {
            const split = splitArrayAt(line, valueStart, earlier.elements ?? []);
            pos = split.end;
            elements = split.elements;
          } else pos = valueEnd(line, valueStart);
          field = {
            name,
            nameEnd: nameEnd - start,
            text: line.slice(start, pos),
            value: line.slice(valueStart, pos),
            elements,
          };
          if (elements !== undefined) {
            let split = ELEMENTS.get(state);
            if (split === undefined) ELEMENTS.set(state, split = new Map());
            split.set(name, elements);
          }
        }
        fields.push(field);
        state.set(field.name, field.value);
        pos = skipSpace(line, pos);
        const code = line.charCodeAt(pos);
        if (code === CLOSE_BRACE) break;
        if (code !== COMMA) malformed(line, pos, ", or }");
        pos = skipSpace(line, pos + 1);
      }
    }
    states.push(state);
    previous = fields;
    pos = skipSpace(line, pos + 1);
    const code = line.charCodeAt(pos);
    if (code === CLOSE_BRACKET) break;
    if (code !== COMMA) malformed(line, pos, ", or ]");
    pos = skipSpace(line, pos + 1);
  }
  if (skipSpace(line, pos + 1) !== line.length) malformed(line, pos + 1, "the end of the line");
  return states;
}

/** One field of a state as scanned: its name, its whole text and its value's text. */
interface Field {
  readonly name: string;
  /** The length of the quoted name in `text`. */
  readonly nameEnd: number;
  /** `"name":value` as in the line. */
  readonly text: string;
  /** The value's text. */
  readonly value: string;
  /** The value's elements, when it is an array that was split. */
  readonly elements: readonly string[] | undefined;
}
