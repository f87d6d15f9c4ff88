/**
 * SHA-256 hashes of the TLA+ specification files, recorded in every TLC artifact so that
 * results and traces from an older spec fail loudly.
 *
 * One hash per artifact, over exactly the files it came from, so that each model and each trace
 * configuration can be rerun alone:
 * - {@linkcode modelHash}: `ButterflyCoordination.tla`, `MC.tla`, the model's own module where it
 *   names one, its configuration and its settings in `tla/models.json`, recorded with each
 *   model's result in `tla/results/results.json`;
 * - {@linkcode traceSpecHash}: `ButterflyCoordination.tla`, `TraceButterfly.tla` and one
 *   `Trace*.cfg`, recorded in the header of each trace file in `conformance/traces/`;
 * - {@linkcode specHash}: every model-checking file, printed for reference.
 *
 * @module
 */

import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";

/** The folder holding the TLA+ specification. */
export const TLA_DIR: string = new URL(".", import.meta.url).pathname.replace(/\/$/, "");

/** The spec module itself, part of both hashes. */
export const SPEC_MODULE_FILE = "ButterflyCoordination.tla";

/** The model-checking harness: the mutants and search constraints the configurations use. */
export const MC_MODULE_FILE = "MC.tla";

/** The trace export module (not part of {@linkcode specHash}). */
export const TRACE_MODULE_FILE = "TraceButterfly.tla";

/** Files whose name starts with this belong to the trace export, not to the model checks. */
export const TRACE_FILE_PREFIX = "Trace";

/**
 * Hashes the model-checking spec files: every `tla/*.tla` and `tla/*.cfg` except the trace
 * export files (`Trace*`), so that adding or changing a trace configuration leaves the recorded
 * TLC results valid.
 *
 * @param dir The folder to hash; defaults to `tla/`.
 * @returns The lowercase hex SHA-256 (see {@linkcode hashFiles} for the layout).
 */
export async function specHash(dir: string = TLA_DIR): Promise<string> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (
      entry.isFile && /\.(tla|cfg)$/.test(entry.name) && !entry.name.startsWith(TRACE_FILE_PREFIX)
    ) {
      names.push(entry.name);
    }
  }
  return await hashFiles(dir, names);
}

/** The settings of a model in `tla/models.json` that change what TLC checks. */
export interface ModelSettings {
  /** The configuration file, for example `MCLiveness.cfg`. */
  readonly config: string;
  /**
   * The module TLC checks, where not `MC.tla`: one that extends `MC` with what only this model
   * checks, so that adding it leaves every other model's result valid.
   */
  readonly module?: string | undefined;
  /** `bfs` or `simulate`. */
  readonly mode: string;
  /** Extra TLC arguments. */
  readonly args?: readonly string[] | undefined;
  /** The expected outcome. */
  readonly expect: unknown;
}

/**
 * Hashes what one model's result depends on: the spec module, the harness module, the model's
 * own module if it has one, its configuration file, and its mode, arguments and expected outcome
 * (as one more part named `models.json`, holding their JSON).
 *
 * @param model The model's settings.
 * @param dir The folder holding the files; defaults to `tla/`.
 * @returns The lowercase hex SHA-256.
 */
export async function modelHash(model: ModelSettings, dir: string = TLA_DIR): Promise<string> {
  const settings = JSON.stringify({
    config: model.config,
    mode: model.mode,
    args: model.args ?? [],
    expect: model.expect,
  });
  const files = [SPEC_MODULE_FILE, MC_MODULE_FILE, model.config];
  if (model.module !== undefined && model.module !== MC_MODULE_FILE) files.push(model.module);
  return await hashFiles(dir, files, {
    "models.json": new TextEncoder().encode(settings),
  });
}

/**
 * Hashes the files one trace configuration comes from: the spec module, the trace export module
 * and the configuration.
 *
 * @param configFile The trace configuration's file name, for example `TraceTwoFPlusOne.cfg`.
 * @param dir The folder holding the files; defaults to `tla/`.
 * @returns The lowercase hex SHA-256.
 */
export async function traceSpecHash(configFile: string, dir: string = TLA_DIR): Promise<string> {
  return await hashFiles(dir, [SPEC_MODULE_FILE, TRACE_MODULE_FILE, configFile]);
}

/**
 * Hashes files: for each file in name order, its name, a zero byte, its length as decimal
 * text, a zero byte and its bytes; extra named parts follow the files in the same layout.
 *
 * @param dir The folder holding the files.
 * @param names The file names.
 * @param extra Named byte strings hashed after the files, in name order.
 * @returns The lowercase hex SHA-256.
 */
export async function hashFiles(
  dir: string,
  names: readonly string[],
  extra: Readonly<Record<string, Uint8Array>> = {},
): Promise<string> {
  const sorted = [...names].sort();
  const encoder = new TextEncoder();
  const parts: Uint8Array[] = [];
  for (const name of sorted) {
    const bytes = await Deno.readFile(`${dir}/${name}`);
    parts.push(encoder.encode(`${name}\0${bytes.length}\0`), bytes);
  }
  for (const name of Object.keys(extra).sort()) {
    const bytes = extra[name] as Uint8Array;
    parts.push(encoder.encode(`${name}\0${bytes.length}\0`), bytes);
  }
  const total = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    total.set(part, offset);
    offset += part.length;
  }
  return bytesToHex(sha256(total));
}
