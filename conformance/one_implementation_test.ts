// One implementation of the protocol: outside `src/core/`, no source computes a quorum, a
// tally threshold (F + 1), the fast path or an allowed seed itself; the faces (the seed's
// classes, the wire's verifiers) ask the core. A textual check: each rule below is how such a
// computation is written, and it must not appear outside the core (tests, which compute
// expected answers, aside).
import assert from "node:assert/strict";

const ROOT = new URL("..", import.meta.url).pathname;

const RULES: readonly { readonly name: string; readonly pattern: RegExp }[] = [
  { name: "the quorum formula", pattern: /\/\s*2\)\s*\+\s*1/ },
  // (R = 2F + 1 replicas is a cluster's size, not a threshold.)
  { name: "F + 1", pattern: /(?<!\*\s*)(faultsMax|\bf)\s*\+\s*1\b/ },
  {
    name: "a count compared with a quorum",
    pattern: /(<|>=)\s*[\w.#]*([qQ]uorum|[tT]hreshold)\b/,
  },
  { name: "a quorum compared with a count", pattern: /[qQ]uorum\s*(>|<=|===)/ },
  {
    name: "a count compared with every member",
    pattern: /(<|>=)\s*[\w.#]*(membership|members)\.(size|length)/,
  },
  { name: "the allowed seeds", pattern: /highestView|certView|fastView/ },
];

async function sources(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of Deno.readDir(`${ROOT}${dir}`)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) out.push(...await sources(path));
    else if (entry.name.endsWith(".ts") && !entry.name.endsWith("_test.ts")) out.push(path);
  }
  return out;
}

Deno.test("no source outside src/core/ computes a quorum, a tally threshold or an allowed seed", async () => {
  const files = (await sources("src")).filter((path) => !path.startsWith("src/core/"));
  assert.ok(files.length > 30, `only ${files.length} files`);
  const found: string[] = [];
  for (const path of files) {
    const lines = (await Deno.readTextFile(`${ROOT}${path}`)).split("\n");
    for (const rule of RULES) {
      const at = lines.findIndex((line) => {
        const code = line.replace(/\/\/.*$/, "");
        return !/^\s*\*/.test(code) && rule.pattern.test(code);
      });
      if (at >= 0) {
        found.push(`${path}:${at + 1}: ${rule.name}: ${(lines[at] as string).trim()}`);
      }
    }
  }
  assert.deepEqual(found, []);
});

Deno.test("the check finds each rule where the core computes it", async () => {
  // The rules are not vacuous: the core itself writes each of them.
  const core = await Promise.all(
    (await sources("src/core")).map((path) => Deno.readTextFile(`${ROOT}${path}`)),
  );
  for (const rule of RULES) {
    if (rule.name === "a quorum compared with a count") continue; // the core writes it the other way
    if (rule.name === "a count compared with every member") continue; // the core says fastQuorum
    assert.ok(core.some((text) => rule.pattern.test(text)), rule.name);
  }
});
