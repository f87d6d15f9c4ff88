/**
 * Imported before ONNX Runtime: since 1.2x its Linux and macOS builds send telemetry (1DS) and
 * leave a `/tmp/mat-debug-<pid>.log` behind every process that loads it. `ORT_DISABLE_TELEMETRY=1`
 * turns both off when it is set before ONNX Runtime initializes; this sets it, unless the caller
 * set it already or did not grant the permission (then nothing changes and nothing prompts).
 *
 * @module
 */

const VARIABLE = "ORT_DISABLE_TELEMETRY";

try {
  if (Deno.permissions.querySync({ name: "env", variable: VARIABLE }).state === "granted") {
    if (Deno.env.get(VARIABLE) === undefined) Deno.env.set(VARIABLE, "1");
  }
} catch {
  // No Deno namespace, or no way to ask: ONNX Runtime keeps its default.
}
