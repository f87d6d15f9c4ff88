// Checks of argument types for callers that TypeScript does not check (plain JavaScript, JSON):
// a wrong type is a TypeError at the call that names the argument and what it got, not a later
// crash or a value silently taken as another.

/**
 * How an error names a value it got: its type and, for a primitive, the value itself.
 *
 * @param value Any value.
 * @returns For example `the string "10"`, `null`, `an array`.
 */
export function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (value === undefined) return "undefined";
  if (Array.isArray(value)) return "an array";
  if (value instanceof Uint8Array) return "a Uint8Array";
  switch (typeof value) {
    case "string":
      return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value)}`;
    case "number":
    case "bigint":
    case "boolean":
      return `the ${typeof value} ${String(value)}`;
    case "function":
      return "a function";
    default:
      return `an object (${Object.prototype.toString.call(value).slice(8, -1)})`;
  }
}

/** The shapes an argument can be required to have. */
export type ArgumentKind = "number" | "string" | "object" | "array" | "bytes" | "function";

const NAMES: Record<ArgumentKind, string> = {
  number: "a number",
  string: "a string",
  object: "an object",
  array: "an array",
  bytes: "a Uint8Array",
  function: "a function",
};

function hasKind(value: unknown, kind: ArgumentKind): boolean {
  switch (kind) {
    case "number":
      return typeof value === "number";
    case "string":
      return typeof value === "string";
    case "object":
      return typeof value === "object" && value !== null && !Array.isArray(value);
    case "array":
      return Array.isArray(value);
    case "bytes":
      return value instanceof Uint8Array;
    case "function":
      return typeof value === "function";
  }
}

/**
 * Throws a TypeError naming `name` unless `value` has the kind.
 *
 * @param name The argument's name, as the caller knows it.
 * @param value Its value.
 * @param kind What it must be.
 * @throws {TypeError} If it is not.
 */
export function requireKind(name: string, value: unknown, kind: ArgumentKind): void {
  if (!hasKind(value, kind)) {
    throw new TypeError(`${name} must be ${NAMES[kind]}, got ${describeValue(value)}`);
  }
}
