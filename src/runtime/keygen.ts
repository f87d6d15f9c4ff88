/**
 * `deno task keygen --out node-1.key`: writes a new ed25519 secret key (mode 0600, never over an
 * existing file) and prints its public key in hex, for the cluster file.
 *
 * @module
 */

import { readArgs } from "../cli/args.ts";
import { KeyFileError, toHex, writeNewKeyFile } from "./keys.ts";

const COMMAND = {
  name: "keygen",
  usage: "deno task keygen --out FILE",
  description:
    "Writes a new ed25519 secret key to FILE (mode 0600; an existing file is never replaced)\n" +
    "and prints its public key (64 hex digits) for the cluster file.",
  options: { out: { type: "string" } },
} as const;

async function main(args: string[]): Promise<number> {
  const read = readArgs(COMMAND, args);
  if ("exit" in read) return read.exit;
  const out = read.values.out;
  if (out === undefined || out === "") {
    console.error(`keygen: --out FILE is required\nusage: ${COMMAND.usage}`);
    return 2;
  }
  try {
    console.log(toHex(await writeNewKeyFile(out)));
  } catch (error) {
    if (!(error instanceof KeyFileError)) throw error;
    console.error(`keygen: ${error.message}`);
    return 1;
  }
  return 0;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
