/**
 * The variable map: every TLA+ variable of `ButterflyCoordination.tla`, the TypeScript field it
 * lives in, and the schema that decodes TLC's JSON for it. TLC's JSON is lossy: sets, sequences
 * and functions over `1..n` all become arrays and records become objects, so the schema says
 * which is which; sets decode to arrays in a canonical order so that equal sets compare equal.
 *
 * @module
 */

import { messageKey } from "../src/core/message_key.ts";
import type { SpecMessage, ViewChangeMessage, Vote } from "../src/core/spec_state.ts";
import type { SpecVariables } from "../src/sim/system.ts";

/** How a TLC JSON value decodes, and its canonical text for comparison. */
export interface Schema<T> {
  /** A short description, for error messages. */
  readonly name: string;
  /** Decodes TLC's JSON; throws on a value of the wrong shape. */
  decode(json: unknown, path: string): T;
  /** Canonical text: equal for equal TLA+ values. */
  key(value: T): string;
}

function fail(path: string, expected: string, json: unknown): never {
  throw new Error(`TLC JSON at ${path}: expected ${expected}, got ${JSON.stringify(json)}`);
}

/** An integer. */
export const integer: Schema<number> = {
  name: "integer",
  decode(json: unknown, path: string): number {
    if (typeof json !== "number" || !Number.isInteger(json)) fail(path, "an integer", json);
    return json;
  },
  key(value: number): string {
    return String(value);
  },
};

/**
 * A string from a fixed set.
 *
 * @param values The allowed strings.
 * @returns The schema.
 */
export function oneOf<T extends string>(values: readonly T[]): Schema<T> {
  return {
    name: values.join("|"),
    decode(json: unknown, path: string): T {
      if (typeof json !== "string" || !values.includes(json as T)) fail(path, this.name, json);
      return json as T;
    },
    key(value: T): string {
      return value;
    },
  };
}

/**
 * A sequence, or a function over `1..n` (an array in TLC's JSON, in order).
 *
 * @param element The elements' schema.
 * @returns The schema.
 */
export function sequenceOf<T>(element: Schema<T>): Schema<readonly T[]> {
  return {
    name: `Seq(${element.name})`,
    decode(json: unknown, path: string): readonly T[] {
      if (!Array.isArray(json)) fail(path, this.name, json);
      return json.map((item, index) => element.decode(item, `${path}[${index + 1}]`));
    },
    key(value: readonly T[]): string {
      return `<${value.map((v) => element.key(v)).join(",")}>`;
    },
  };
}

/**
 * A set (an array in TLC's JSON, in TLC's order); decoded in ascending canonical order.
 *
 * @param element The elements' schema.
 * @returns The schema.
 */
export function setOf<T>(element: Schema<T>): Schema<readonly T[]> {
  return {
    name: `SUBSET ${element.name}`,
    decode(json: unknown, path: string): readonly T[] {
      if (!Array.isArray(json)) fail(path, this.name, json);
      const items = json.map((item, index) => element.decode(item, `${path}{${index}}`));
      const keyed = items.map((item) => [element.key(item), item] as const);
      keyed.sort((a, b) => a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
      return keyed.map(([, item]) => item);
    },
    key(value: readonly T[]): string {
      return `{${value.map((v) => element.key(v)).sort().join(",")}}`;
    },
  };
}

/**
 * A record with the given fields (an object in TLC's JSON).
 *
 * @param fields Each field's schema.
 * @returns The schema.
 */
export function recordOf<T extends object>(
  fields: { readonly [K in keyof T]: Schema<T[K]> },
): Schema<T> {
  const names = Object.keys(fields).sort() as (keyof T & string)[];
  return {
    name: `[${names.join(", ")}]`,
    decode(json: unknown, path: string): T {
      if (typeof json !== "object" || json === null || Array.isArray(json)) {
        fail(path, this.name, json);
      }
      const source = json as Record<string, unknown>;
      if (Object.keys(source).length !== names.length) fail(path, this.name, json);
      const out: Partial<T> = {};
      for (const name of names) {
        if (!(name in source)) fail(path, `field ${name}`, json);
        out[name] = fields[name].decode(source[name], `${path}.${name}`);
      }
      return out as T;
    },
    key(value: T): string {
      return `[${names.map((n) => `${n}:${fields[n].key(value[n])}`).join(",")}]`;
    },
  };
}

/** A vote or prepared certificate. */
export const voteSchema: Schema<Vote> = recordOf<Vote>({ view: integer, value: integer });

const viewChangeSchema = recordOf<ViewChangeMessage>({
  type: oneOf(["ViewChange"]),
  view: integer,
  prepared: voteSchema,
  voted: voteSchema,
  from: integer,
});

const MESSAGE_SCHEMAS: Record<SpecMessage["type"], Schema<SpecMessage>> = {
  Assign: recordOf({ type: oneOf(["Assign"]), view: integer, seed: integer, from: integer }),
  StageOutput: recordOf({
    type: oneOf(["StageOutput"]),
    view: integer,
    seed: integer,
    token: integer,
    stage: integer,
    value: integer,
    from: integer,
  }),
  PrePrepare: recordOf({
    type: oneOf(["PrePrepare"]),
    view: integer,
    value: integer,
    from: integer,
  }),
  Prepare: recordOf({ type: oneOf(["Prepare"]), view: integer, value: integer, from: integer }),
  Commit: recordOf({ type: oneOf(["Commit"]), view: integer, value: integer, from: integer }),
  Checkpoint: recordOf({
    type: oneOf(["Checkpoint"]),
    seed: integer,
    position: integer,
    digest: sequenceOf(integer),
    from: integer,
  }),
  ViewChange: viewChangeSchema as Schema<SpecMessage>,
  NewView: recordOf({
    type: oneOf(["NewView"]),
    view: integer,
    viewChanges: setOf(viewChangeSchema),
    seed: integer,
    from: integer,
  }) as Schema<SpecMessage>,
} as Record<SpecMessage["type"], Schema<SpecMessage>>;

/** A signed message: a record whose `type` field picks the schema. */
export const messageSchema: Schema<SpecMessage> = {
  name: "Message",
  decode(json: unknown, path: string): SpecMessage {
    const type = (json as { type?: unknown } | null)?.type;
    const schema = MESSAGE_SCHEMAS[type as SpecMessage["type"]];
    if (schema === undefined) fail(path, "a message", json);
    return schema.decode(json, path);
  },
  key(value: SpecMessage): string {
    return messageKey(value);
  },
};

/** One row of the map: a TLA+ variable, where it lives in TypeScript, and its schema. */
export interface VariableMapping {
  /** The TLA+ variable. */
  readonly variable: keyof SpecVariables;
  /** Where the value lives in TypeScript. */
  readonly field: string;
  /** How TLC's JSON for it decodes. */
  readonly schema: Schema<unknown>;
}

const perNode = <T>(schema: Schema<T>): Schema<unknown> =>
  sequenceOf(schema) as unknown as Schema<unknown>;

/** Every variable of the spec (14), with its TypeScript home and schema. */
export const VARIABLE_MAP: readonly VariableMapping[] = [
  {
    variable: "status",
    field: "SystemState.status[i - 1]",
    schema: perNode(oneOf(["up", "crashed"])),
  },
  { variable: "view", field: "NodeState.view", schema: perNode(integer) },
  { variable: "seed", field: "NodeState.seed", schema: perNode(integer) },
  {
    variable: "progress",
    field: "NodeState.progress[s - 1]",
    schema: perNode(sequenceOf(integer)),
  },
  { variable: "tokens", field: "NodeState.tokens", schema: perNode(sequenceOf(integer)) },
  { variable: "vote", field: "NodeState.vote", schema: perNode(voteSchema) },
  { variable: "prepared", field: "NodeState.prepared", schema: perNode(voteSchema) },
  { variable: "committed", field: "NodeState.committed", schema: perNode(integer) },
  {
    variable: "stableCheckpoint",
    field: "NodeState.stableCheckpoint",
    schema: perNode(recordOf({ seed: integer, position: integer, tokens: sequenceOf(integer) })),
  },
  { variable: "suspected", field: "NodeState.suspected (sorted)", schema: perNode(setOf(integer)) },
  { variable: "excluded", field: "NodeState.excluded (sorted)", schema: perNode(setOf(integer)) },
  {
    variable: "msgs",
    field: "SystemState.messages (the network; each node's received set)",
    schema: setOf(messageSchema) as unknown as Schema<unknown>,
  },
  {
    variable: "byzantineSent",
    field: "SystemState.byzantineSent",
    schema: integer as Schema<unknown>,
  },
  { variable: "crashes", field: "SystemState.crashes", schema: integer as Schema<unknown> },
];

/**
 * Decodes one TLC state (a JSON object) into the spec's variables.
 *
 * @param json One state of a TLC trace.
 * @returns Every variable, decoded.
 */
export function decodeState(json: Record<string, unknown>): SpecVariables {
  const out: Record<string, unknown> = {};
  for (const { variable, schema } of VARIABLE_MAP) {
    if (!(variable in json)) throw new Error(`TLC state lacks variable ${variable}`);
    out[variable] = schema.decode(json[variable], variable);
  }
  return out as unknown as SpecVariables;
}
