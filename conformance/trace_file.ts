/**
 * The trace corpus files: gzip-compressed NDJSON, a header line then one TLC behaviour a line.
 *
 * @module
 */

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
 * Reads a trace file, gzip-compressed (`.gz`) or plain.
 *
 * @param path The file.
 * @returns The header and the behaviour lines.
 */
export async function readTraceFile(path: string): Promise<TraceFile> {
  let bytes: Uint8Array;
  if (path.endsWith(".gz")) {
    const file = await Deno.open(path);
    const stream = file.readable.pipeThrough(new DecompressionStream("gzip"));
    bytes = await new Response(stream).bytes();
  } else {
    bytes = await Deno.readFile(path);
  }
  // Each line decoded on its own is a flat string, which the replay scans faster than a slice
  // of the whole text.
  const decoder = new TextDecoder("utf-8", { fatal: true });
  const lines: string[] = [];
  for (let start = 0; start < bytes.length;) {
    const newline = bytes.indexOf(10, start);
    const end = newline < 0 ? bytes.length : newline;
    if (end > start) lines.push(decoder.decode(bytes.subarray(start, end)));
    start = end + 1;
  }
  const first = lines.shift();
  if (first === undefined) throw new Error(`Trace file ${path} is empty`);
  const header = JSON.parse(first) as TraceHeader;
  if (header.format !== TRACE_FORMAT) {
    throw new Error(`Trace file ${path} has format ${header.format}, expected ${TRACE_FORMAT}`);
  }
  return { path, header, lines };
}
