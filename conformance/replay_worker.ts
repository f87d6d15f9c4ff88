/**
 * A replay worker: `replayTraces` with `workers` above 1 starts several, sends each trace file
 * once (its bytes on a `SharedArrayBuffer`) and then chunks of behaviours, and merges the
 * answers in chunk order. Chunks come in file order, so a worker forgets a file when a chunk of
 * a later one arrives.
 *
 * @module
 */

import { decodeLine } from "./trace_file.ts";
import {
  type FileConfig,
  fileConfig,
  type FileMemo,
  newFileMemo,
  replayBehaviour,
  type WorkerRequest,
  type WorkerResponse,
} from "./run.ts";

interface LoadedFile {
  readonly path: string;
  readonly bytes: Uint8Array;
  readonly bounds: readonly number[];
  readonly config: FileConfig;
  readonly memo: FileMemo;
}

// The worker's global scope, typed as a worker's (this folder is type-checked as window code).
const scope = self as unknown as {
  onmessage: ((event: MessageEvent<WorkerRequest>) => void) | null;
  postMessage(message: WorkerResponse): void;
};

const files = new Map<number, LoadedFile>();

function handle(request: WorkerRequest): WorkerResponse | undefined {
  if (request.kind === "file") {
    for (const file of files.keys()) if (file < request.file) files.delete(file);
    files.set(request.file, {
      path: request.path,
      bytes: request.bytes,
      bounds: request.bounds,
      config: fileConfig(request.constants),
      memo: newFileMemo(),
    });
    return undefined;
  }
  const file = files.get(request.file);
  if (file === undefined) throw new Error(`Replay worker: no file ${request.file}`);
  const coverage = new Map<string, number>();
  const mismatches: string[] = [];
  let steps = 0;
  for (let index = request.first; index < request.end; index++) {
    const line = decodeLine(
      file.bytes,
      file.bounds[2 * index] as number,
      file.bounds[2 * index + 1] as number,
    );
    const result = replayBehaviour(line, file.path, index, file.config, file.memo, coverage);
    steps += result.steps;
    if (result.mismatch !== undefined) mismatches.push(result.mismatch);
  }
  return { kind: "chunk", chunk: request.chunk, steps, coverage: [...coverage], mismatches };
}

scope.onmessage = (event) => {
  let response: WorkerResponse | undefined;
  try {
    response = handle(event.data);
  } catch (error) {
    response = { kind: "error", message: (error as Error).stack ?? String(error) };
  }
  if (response !== undefined) scope.postMessage(response);
};
scope.postMessage({ kind: "ready" });
