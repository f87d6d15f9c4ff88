import assert from "node:assert/strict";
import { fromHex, KeyFileError, readKeyFile, toHex, writeNewKeyFile } from "./keys.ts";

const ROOT = new URL("../..", import.meta.url).pathname;

async function withDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "butterfly-keys-" });
  try {
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("a written key file is mode 0600 and reads back as the same key", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/node-1.key`;
    const publicKey = await writeNewKeyFile(path);
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
    assert.match(await Deno.readTextFile(path), /^[0-9a-f]{64}\n$/);
    const signer = await readKeyFile(path, "node-1");
    assert.deepEqual(signer.publicKey, publicKey);
    assert.equal(signer.nodeId, "node-1");
    // Two keys differ.
    assert.notDeepEqual(await writeNewKeyFile(`${dir}/node-2.key`), publicKey);
  });
});

Deno.test("an existing key file is never replaced", async () => {
  await withDir(async (dir) => {
    const path = `${dir}/node-1.key`;
    await writeNewKeyFile(path);
    const before = await Deno.readTextFile(path);
    await assert.rejects(() => writeNewKeyFile(path), {
      name: "KeyFileError",
      message: `${path}: exists already; a key file is never replaced`,
    });
    assert.equal(await Deno.readTextFile(path), before);
  });
});

Deno.test("readKeyFile() refuses a missing file, one others can read, and bad contents", async () => {
  await withDir(async (dir) => {
    await assert.rejects(() => readKeyFile(`${dir}/none.key`, "n"), KeyFileError);
    const open = `${dir}/open.key`;
    await Deno.writeTextFile(open, `${"ab".repeat(32)}\n`, { mode: 0o644 });
    await Deno.chmod(open, 0o644);
    await assert.rejects(() => readKeyFile(open, "n"), /is readable by others \(mode 644\)/);
    for (const text of ["", "ab".repeat(31), "zz".repeat(32), `${"ab".repeat(32)}00`]) {
      const path = `${dir}/bad.key`;
      await Deno.writeTextFile(path, text, { mode: 0o600 });
      await assert.rejects(() => readKeyFile(path, "n"), /must hold one line of 64 hex digits/);
    }
  });
});

Deno.test("hex round trips and refuses the wrong length or digits", () => {
  const bytes = new Uint8Array([0, 1, 0xab, 0xff]);
  assert.equal(toHex(bytes), "0001abff");
  assert.deepEqual(fromHex("0001ABff", 4), bytes);
  assert.equal(fromHex("0001ab", 4), undefined);
  assert.equal(fromHex("0001abfg", 4), undefined);
});

Deno.test("deno task keygen prints the public key and will not overwrite", async () => {
  await withDir(async (dir) => {
    const run = (...args: string[]) =>
      new Deno.Command(Deno.execPath(), {
        args: ["task", "--quiet", "keygen", ...args],
        cwd: ROOT,
        env: { NO_COLOR: "1" },
        stdout: "piped",
        stderr: "piped",
      }).output();
    const path = `${dir}/node-1.key`;
    const first = await run("--out", path);
    assert.equal(first.code, 0, new TextDecoder().decode(first.stderr));
    const printed = new TextDecoder().decode(first.stdout).trim();
    assert.match(printed, /^[0-9a-f]{64}$/);
    assert.equal(toHex((await readKeyFile(path, "node-1")).publicKey), printed);
    const again = await run("--out", path);
    assert.equal(again.code, 1);
    assert.match(new TextDecoder().decode(again.stderr), /^keygen: .*exists already/);
    const missing = await run();
    assert.equal(missing.code, 2);
  });
});
