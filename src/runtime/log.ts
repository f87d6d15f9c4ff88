/**
 * Structured logs of a node: one JSON object per line (time, level, node, event, and where they
 * apply inference, view, the TLA+ action, the peer and a wire error code), written to a sink
 * (stderr by default). The level filters what is written.
 *
 * @module
 */

import { describeValue } from "../core/_arguments.ts";

/** Log levels, least to most severe. */
export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;

/** A log level. */
export type LogLevel = typeof LOG_LEVELS[number];

/** The fields a log line may carry beside its level, node and event. */
export interface LogFields {
  /** The inference the line is about. */
  readonly inference?: number;
  /** The protocol view. */
  readonly view?: number;
  /** The TLA+ action the core took. */
  readonly action?: string;
  /** The peer: a node id, a client id or an address. */
  readonly peer?: string;
  /** A wire error code (`spec/PROTOCOL.md` §10). */
  readonly code?: string;
  /** Anything else, as JSON values. */
  readonly [key: string]: unknown;
}

/** One log line, as written. */
export interface LogRecord extends LogFields {
  /** ISO 8601 time. */
  readonly time: string;
  /** The level. */
  readonly level: LogLevel;
  /** The node that logs. */
  readonly node: string;
  /** What happened, in a few words. */
  readonly msg: string;
}

/** Where log lines go. */
export type LogSink = (line: string, record: LogRecord) => void;

/**
 * Reads a `--log-level` value.
 *
 * @param value The flag's value.
 * @returns The level.
 * @throws {TypeError} If it is not a level.
 */
export function parseLogLevel(value: unknown): LogLevel {
  if (typeof value === "string" && (LOG_LEVELS as readonly string[]).includes(value)) {
    return value as LogLevel;
  }
  throw new TypeError(
    `the log level must be one of ${LOG_LEVELS.join(", ")}, got ${describeValue(value)}`,
  );
}

const encoder = new TextEncoder();

/** Writes a line to stderr, synchronously (a line is never interleaved with another). */
export const stderrSink: LogSink = (line) => {
  const bytes = encoder.encode(`${line}\n`);
  let written = 0;
  while (written < bytes.length) written += Deno.stderr.writeSync(bytes.subarray(written));
};

/**
 * A node's logger.
 *
 * @example Lines at or above the level are written
 * ```ts
 * import { Logger } from "./log.ts";
 * import assert from "node:assert/strict";
 * const lines: string[] = [];
 * const log = new Logger("node-1", "info", (line) => lines.push(line));
 * log.debug("not written");
 * log.warn("frame refused", { peer: "127.0.0.1:4000", code: "bad_signature" });
 * assert.equal(lines.length, 1);
 * assert.equal(JSON.parse(lines[0]!).code, "bad_signature");
 * ```
 */
export class Logger {
  /** The node that logs. */
  readonly node: string;
  /** The least severe level written. */
  readonly level: LogLevel;
  readonly #sink: LogSink;
  readonly #minimumRank: number;
  readonly #clock: () => number;

  /**
   * Creates a logger.
   *
   * @param node The node's id.
   * @param level The least severe level written.
   * @param sink Where lines go (default: stderr).
   * @param clock Milliseconds since the epoch (default `Date.now`).
   */
  constructor(
    node: string,
    level: LogLevel = "info",
    sink: LogSink = stderrSink,
    clock: () => number = Date.now,
  ) {
    this.node = node;
    this.level = parseLogLevel(level);
    this.#sink = sink;
    this.#minimumRank = LOG_LEVELS.indexOf(level);
    this.#clock = clock;
  }

  /**
   * Whether a level is written.
   *
   * @param level A level.
   * @returns `true` if lines of that level are written.
   */
  enabled(level: LogLevel): boolean {
    return LOG_LEVELS.indexOf(level) >= this.#minimumRank;
  }

  /**
   * Writes a line.
   *
   * @param level Its level.
   * @param msg What happened.
   * @param fields Where it happened.
   */
  log(level: LogLevel, msg: string, fields: LogFields = {}): void {
    if (!this.enabled(level)) return;
    const record: LogRecord = {
      time: new Date(this.#clock()).toISOString(),
      level,
      node: this.node,
      msg,
      ...fields,
    };
    this.#sink(JSON.stringify(record), record);
  }

  /**
   * A debug line.
   *
   * @param msg What happened.
   * @param fields Where.
   */
  debug(msg: string, fields?: LogFields): void {
    this.log("debug", msg, fields);
  }

  /**
   * An info line.
   *
   * @param msg What happened.
   * @param fields Where.
   */
  info(msg: string, fields?: LogFields): void {
    this.log("info", msg, fields);
  }

  /**
   * A warning.
   *
   * @param msg What happened.
   * @param fields Where.
   */
  warn(msg: string, fields?: LogFields): void {
    this.log("warn", msg, fields);
  }

  /**
   * An error line.
   *
   * @param msg What happened.
   * @param fields Where.
   */
  error(msg: string, fields?: LogFields): void {
    this.log("error", msg, fields);
  }
}
