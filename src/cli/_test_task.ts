// Runs a `deno task` of this repository as a user would, for the command tests.

const ROOT = new URL("../..", import.meta.url).pathname;

/** What a task printed and how it exited. */
export interface TaskOutput {
  /** The exit code. */
  readonly code: number;
  /** Standard output. */
  readonly stdout: string;
  /** Standard error. */
  readonly stderr: string;
}

/**
 * Runs `deno task --quiet NAME ARGS...` in the repository root, without colours.
 *
 * @param name The task.
 * @param args Its arguments.
 * @returns Its exit code and output.
 */
export async function runTask(name: string, ...args: string[]): Promise<TaskOutput> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", name, ...args],
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: output.code, stdout: decode(output.stdout), stderr: decode(output.stderr) };
}
