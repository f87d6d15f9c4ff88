/**
 * The trace corpus files: gzip-compressed NDJSON, a header line then one TLC behaviour a line.
 *
 * @module
 */

import { gunzipSync } from "node:zlib";

/** The folder of the committed trace corpus. */
export const TRACES_DIR: string = new URL("./traces", import.meta.url).pathname;

/** The format tag of the header line. */
export const TRACE_FORMAT = "butterfly-tlc-trace/1";

/** The first line of a trace file: where the behaviours came from. */
export interface TraceHeader {
  /** {@linkcode TRACE_FORMAT}. */
  readonly format: string;
  /** The configuration file in `tla/`, for example `TraceTwoFPlusOne.cfg`. */
  readonly config: string;
  /** TLC's version line. */
  readonly tlcVersion: string;
  /** The simulation seed given to TLC. */
  readonly seed: number;
  /** The states per behaviour. */
  readonly depth: number;
  /** How many behaviour lines follow. */
  readonly behaviours: number;
  /** SHA-256 of the spec files (see `traceSpecHash` in `tla/spec_hash.ts`). */
  readonly specSha256: string;
}

/** A trace file read into memory. */
export interface TraceFile {
  /** The path it was read from. */
  readonly path: string;
  /** The header line. */
  readonly header: TraceHeader;
  /** The behaviours, one string (one JSON array of states) each. */
  readonly lines: readonly string[];
}

/**
 * Reads a trace file's bytes, decompressed when it is gzip-compressed (`.gz`).
 *
 * @param path The file.
 * @returns The NDJSON bytes.
 */
export async function readTraceBytes(path: string): Promise<Uint8Array> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (error) {
    throw new TraceFileError(path, `cannot be read (${(error as Error).message})`);
  }
  if (!path.endsWith(".gz")) return bytes;
  // One native call: about three times faster than a DecompressionStream here, with far less
  // garbage left for the collector while the replay runs.
  let inflated: Uint8Array;
  try {
    inflated = gunzipSync(bytes);
  } catch (error) {
    throw new TraceFileError(path, `is not gzip (${(error as Error).message})`);
  }
  return new Uint8Array(inflated.buffer, inflated.byteOffset, inflated.byteLength);
}

/** A trace file that cannot be read as one: the message names the file and what is wrong. */
export class TraceFileError extends Error {
  /**
   * The error.
   *
   * @param path The file.
   * @param problem What is wrong with it, after "Trace file PATH ".
   */
  constructor(path: string, problem: string) {
    super(`Trace file ${path} ${problem}`);
    this.name = "TraceFileError";
  }
}

/**
 * Where the non-empty lines of NDJSON bytes are.
 *
 * @param bytes The bytes.
 * @returns Each line's start and end (exclusive), flattened: `[start0, end0, start1, ...]`.
 */
export function lineBounds(bytes: Uint8Array): number[] {
  const bounds: number[] = [];
  for (let start = 0; start < bytes.length;) {
    const newline = bytes.indexOf(10, start);
    const end = newline < 0 ? bytes.length : newline;
    if (end > start) bounds.push(start, end);
    start = end + 1;
  }
  return bounds;
}

const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * Decodes one line of a trace file. Each line decoded on its own is a flat string, which the
 * replay scans faster than a slice of the whole text.
 *
 * @param bytes The file's bytes (a shared buffer's view may be given).
 * @param start The line's start.
 * @param end The line's end (exclusive).
 * @returns The line.
 */
export function decodeLine(bytes: Uint8Array, start: number, end: number): string {
  return decoder.decode(bytes.subarray(start, end));
}

/**
 * Parses and checks the header line of a trace file.
 *
 * @param path The file, for errors.
 * @param line The first line.
 * @returns The header.
 */
export function parseTraceHeader(path: string, line: string | undefined): TraceHeader {
  if (line === undefined) throw new TraceFileError(path, "is empty");
  let header: TraceHeader;
  try {
    header = JSON.parse(line) as TraceHeader;
  } catch (error) {
    throw new TraceFileError(
      path,
      `has a first line that is not JSON (${(error as Error).message})`,
    );
  }
  if (header === null || typeof header !== "object" || header.format !== TRACE_FORMAT) {
    throw new TraceFileError(
      path,
      `has format ${(header as { format?: unknown } | null)?.format}, expected ${TRACE_FORMAT}`,
    );
  }
  return header;
}

/**
 * Reads a trace file, gzip-compressed (`.gz`) or plain.
 *
 * @param path The file.
 * @returns The header and the behaviour lines.
 */
export async function readTraceFile(path: string): Promise<TraceFile> {
  const bytes = await readTraceBytes(path);
  const bounds = lineBounds(bytes);
  const lines: string[] = [];
  for (let index = 0; index < bounds.length; index += 2) {
    lines.push(decodeLine(bytes, bounds[index] as number, bounds[index + 1] as number));
  }
  const header = parseTraceHeader(path, lines.shift());
  return { path, header, lines };
}
