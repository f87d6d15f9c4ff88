/**
 * The one command-line reader of the project's commands (`deno task ...`): `node:util`'s
 * `parseArgs` with `--help` on every command, and a bad flag or value answered with one line
 * naming it and exit status 2, before the command loads or touches anything.
 *
 * @module
 */

import { parseArgs, type ParseArgsOptionsConfig } from "node:util";

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
    // node:util's advice on positionals that start with "-" does not apply to our commands.
    const message = (error as Error).message.replace(/\. To specify a positional argument.*$/s, "");
    console.error(`${command.name}: ${message}\nusage: ${command.usage}`);
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
