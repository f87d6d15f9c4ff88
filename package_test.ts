// The package's metadata is true: the licence deno.json declares is in the repository, one file
// per licence of the "OR" expression, each the licence's own text.
import assert from "node:assert/strict";

const ROOT = new URL(".", import.meta.url).pathname;

Deno.test("every licence deno.json declares is committed, with its text", async () => {
  const config = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`));
  assert.equal(config.license, "MIT OR Apache-2.0");
  const mit = await Deno.readTextFile(`${ROOT}LICENSE-MIT`);
  assert.match(mit, /^MIT License\n/);
  assert.match(mit, /Permission is hereby granted, free of charge/);
  const apache = await Deno.readTextFile(`${ROOT}LICENSE-APACHE`);
  assert.match(apache, /Apache License\s+Version 2\.0, January 2004/);
  assert.match(apache, /END OF TERMS AND CONDITIONS/);
});
