import assert from "node:assert/strict";
import { UsageError } from "../cli/args.ts";
import { listenAddress } from "./node_main.ts";

Deno.test("--listen takes HOST:PORT, and refuses anything else in one line", () => {
  assert.deepEqual(listenAddress("127.0.0.1:4100"), { host: "127.0.0.1", port: 4100 });
  assert.deepEqual(listenAddress("localhost:1"), { host: "localhost", port: 1 });
  for (const bad of ["4100", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536", ":4100", "h:4x"]) {
    assert.throws(() => listenAddress(bad), UsageError, bad);
  }
});
