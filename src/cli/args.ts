/**
 * The one command-line reader of the project's commands (`deno task ...`): `node:util`'s
 * `parseArgs` with `--help` on every command, and a bad flag or value answered with one line
 * naming it and exit status 2, before the command loads or touches anything.
 *
 * @module
 */

import { parseArgs, type ParseArgsOptionsConfig } from "node:util";
import type { Sampling } from "../model/sampling.ts";

/** A command: its name, its usage line, what it does, and its options. */
export interface CommandSpec<O extends ParseArgsOptionsConfig> {
  /** The task's name, as in `deno task NAME`. */
  readonly name: string;
  /** The usage line, without "usage:" (for example `deno task simulate [--seed S]`). */
  readonly usage: string;
  /** What the command does, in a sentence or two. */
  readonly description: string;
  /** The options (`--help` is added). */
  readonly options: O;
  /** Whether it takes positional arguments. */
  readonly positionals?: boolean;
}

/**
 * The first line of one of `node:util` `parseArgs`'s errors, without its advice on positionals
 * that start with "-" (which does not apply to these commands).
 *
 * @param error The error `parseArgs` threw.
 * @returns One line naming the flag.
 *
 * @example Usage
 * ```ts
 * import { parseErrorLine } from "./args.ts";
 * import assert from "node:assert/strict";
 * const error = new Error("Unknown option '--x'. To specify a positional argument ...");
 * assert.equal(parseErrorLine(error), "Unknown option '--x'");
 * ```
 */
export function parseErrorLine(error: Error): string {
  return (error.message.split("\n")[0] as string).replace(
    /\. To specify a positional argument.*$/s,
    "",
  );
}

/** What {@linkcode readArgs} read: the values and positionals, or the exit status to end with. */
export type ReadArgs<O extends ParseArgsOptionsConfig> =
  | {
    readonly values: ReturnType<typeof parseArgs<{ options: O; allowPositionals: true }>>["values"];
    readonly positionals: string[];
  }
  | { readonly exit: number };

/**
 * Reads a command line: `--help` (or `-h`) prints the usage and description (exit 0); an unknown
 * flag, a flag without its value or a positional where none is taken prints one line naming it
 * and the usage (exit 2).
 *
 * @param command The command.
 * @param args The arguments.
 * @returns The values and positionals, or the exit status.
 *
 * @example Usage
 * ```ts
 * import { readArgs } from "./args.ts";
 * import assert from "node:assert/strict";
 * const command = {
 *   name: "demo",
 *   usage: "deno task demo [--nodes N]",
 *   description: "Runs the demo.",
 *   options: { nodes: { type: "string" } },
 * } as const;
 * const read = readArgs(command, ["--nodes", "4"]);
 * assert.ok("values" in read && read.values.nodes === "4");
 * ```
 */
export function readArgs<O extends ParseArgsOptionsConfig>(
  command: CommandSpec<O>,
  args: readonly string[],
): ReadArgs<O> {
  const options = { ...command.options, help: { type: "boolean", short: "h" } } as const;
  let parsed;
  try {
    parsed = parseArgs({ args: [...args], options, allowPositionals: true, strict: true });
  } catch (error) {
    console.error(`${command.name}: ${parseErrorLine(error as Error)}\nusage: ${command.usage}`);
    return { exit: 2 };
  }
  if ((parsed.values as { help?: boolean }).help === true) {
    console.log(`usage: ${command.usage}\n\n${command.description}`);
    return { exit: 0 };
  }
  if (command.positionals !== true && parsed.positionals.length > 0) {
    console.error(
      `${command.name}: unexpected argument ${JSON.stringify(parsed.positionals[0])}\n` +
        `usage: ${command.usage}`,
    );
    return { exit: 2 };
  }
  return {
    values: parsed.values as ReadArgs<O> extends { values: infer V } ? V : never,
    positionals: parsed.positionals,
  };
}

/** A flag's value the command cannot take: the message names the flag and the value. */
export class UsageError extends Error {
  /**
   * The error.
   *
   * @param message What is wrong, naming the flag.
   */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/**
 * A flag's whole-number value.
 *
 * @param flag The flag, for the message (`--max-tokens`).
 * @param text The value given, or `undefined` for the fallback.
 * @param fallback The value when none is given.
 * @param min The smallest allowed.
 * @param max The largest allowed.
 * @returns The number.
 * @throws {UsageError} If the text is not a whole number in `min..max`.
 *
 * @example Usage
 * ```ts
 * import { integerValue } from "./args.ts";
 * import assert from "node:assert/strict";
 * assert.equal(integerValue("--threads", "4", 1, 1), 4);
 * assert.throws(() => integerValue("--threads", "abc", 1, 1), /--threads needs a whole number/);
 * ```
 */
export function integerValue(
  flag: string,
  text: string | undefined,
  fallback: number,
  min: number,
  max: number = Number.MAX_SAFE_INTEGER,
): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!/^-?\d+$/.test(text) || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new UsageError(
      `${flag} needs a whole number from ${min}${
        max === Number.MAX_SAFE_INTEGER ? " up" : ` to ${max}`
      }, got ${JSON.stringify(text)}`,
    );
  }
  return value;
}

/**
 * The sampling rule of `--temperature T [--top-k K] [--seed S]` (no `--temperature`: greedy).
 *
 * @param values The flags' text, as `parseArgs` read them.
 * @returns The rule.
 * @throws {UsageError} Naming the flag, if one is out of range.
 */
export function samplingFlags(
  values: { temperature?: string | undefined; "top-k"?: string | undefined; seed?: string },
): Sampling {
  const seed = integerValue("--seed", values.seed, 0, 0, 2 ** 32 - 1);
  if (values.temperature === undefined) {
    if (values["top-k"] !== undefined) throw new UsageError("--top-k needs --temperature");
    return { kind: "greedy" };
  }
  const temperature = Number(values.temperature);
  if (!(temperature > 0 && Number.isFinite(temperature))) {
    throw new UsageError(
      `--temperature needs a positive number, got ${JSON.stringify(values.temperature)}`,
    );
  }
  return {
    kind: "sample",
    temperature,
    seed,
    ...(values["top-k"] === undefined
      ? {}
      : { topK: integerValue("--top-k", values["top-k"], 1, 1) }),
  };
}

/**
 * Prints a usage error of `command` (one line, then the usage) and gives the exit status.
 *
 * @param command The command.
 * @param error The error.
 * @returns 2.
 */
export function usageFailure(
  command: { readonly name: string; readonly usage: string },
  error: UsageError,
): number {
  console.error(`${command.name}: ${error.message}\nusage: ${command.usage}`);
  return 2;
}
