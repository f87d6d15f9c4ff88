/**
 * `deno task conformance`: checks that the committed model-checking results belong to the
 * current TLA+ spec and that every configuration, mutant and the 2f + 1 verdict came out as
 * `tla/models.json` expects; prints the results table. (Trace replay through the pure core
 * joins this command once `src/core/` implements the spec's actions.)
 *
 * @module
 */

import { specHash, TLA_DIR } from "../tla/spec_hash.ts";
import { formatResults, resultProblems, type TlcResults } from "./tlc_results.ts";

async function main(): Promise<number> {
  const models: { name: string }[] = JSON.parse(await Deno.readTextFile(`${TLA_DIR}/models.json`));
  const results: TlcResults = JSON.parse(
    await Deno.readTextFile(`${TLA_DIR}/results/results.json`),
  );
  console.log(`${results.tlcVersion}; spec sha256 ${results.specSha256}`);
  console.log(formatResults(results));
  const problems = resultProblems(results, await specHash(), models.map((m) => m.name));
  for (const problem of problems) console.error(`error: ${problem}`);
  if (problems.length === 0) console.log(`${models.length} models as expected`);
  return problems.length === 0 ? 0 : 1;
}

if (import.meta.main) Deno.exit(await main());
