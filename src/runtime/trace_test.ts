// A real trace (four nodes in memory commit an inference) checks; each way of making it lie,
// a step left out, a state changed, an action that was not enabled, a restart that lost what
// was on disk, a changed commit, is named with its file and line.
import assert from "node:assert/strict";
import { clusterConfigWith, durableOf, initialNodeState } from "../core/spec_state.ts";
import {
  tornByKill,
  type TraceInstanceLine,
  type TraceLine,
  type TraceStepLine,
  TraceWriter,
  validateTrace,
  validateTraceDir,
} from "./trace.ts";
import { eventually, submit, toClient, withCoordinators } from "./_test_coordinators.ts";

const PROMPT = new TextEncoder().encode("Hi");

// A trace file's lines.
const traceLines = (text: string): TraceLine[] =>
  text.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l));

// Every node's trace of one committed inference, as file name and lines.
async function recordTrace(): Promise<Map<string, TraceLine[]>> {
  const files = new Map<string, TraceLine[]>();
  await withCoordinators(async (coordinators, frames, _pipelines, _logs, harness) => {
    await submit(coordinators, 5, PROMPT, 3);
    await toClient(frames, 5, "ClientReply", 4);
    // The replies can leave before node-1 takes any step after its commit (the late votes it
    // still receives), which the checks below change: wait for one.
    const stepAfterCommit = () => {
      const lines = traceLines(Deno.readTextFileSync(`${harness.traceDir}/node-1.ndjson`));
      const at = lines.findIndex((l) => l.kind === "step" && l.state.committed !== -1);
      return at >= 0 && lines.slice(at + 1).some((l) => l.kind === "step");
    };
    assert.ok(await eventually(stepAfterCommit), "node-1 took no step after its commit");
    for (const coordinator of coordinators) await coordinator.close();
    for await (const entry of Deno.readDir(harness.traceDir)) {
      files.set(
        entry.name,
        traceLines(await Deno.readTextFile(`${harness.traceDir}/${entry.name}`)),
      );
    }
  });
  return files;
}

const asText = (files: ReadonlyMap<string, TraceLine[]>) =>
  new Map(
    [...files].map(([name, lines]) => [name, lines.map((l) => JSON.stringify(l)).join("\n")]),
  );

function withLines(
  files: ReadonlyMap<string, TraceLine[]>,
  name: string,
  change: (lines: TraceLine[]) => TraceLine[],
): Map<string, TraceLine[]> {
  return new Map([...files].map(([file, lines]) => [file, file === name ? change(lines) : lines]));
}

// The index of the first step line of `lines` that took an action named `name`.
function stepWith(lines: readonly TraceLine[], name: string): number {
  return lines.findIndex((l) => l.kind === "step" && l.actions.some((a) => a.name === name));
}

Deno.test("validateTrace() passes a real trace and names each way of making it lie", async () => {
  const files = await recordTrace();
  const name = "node-1.ndjson";
  const lines = files.get(name)!;
  const clean = validateTrace(asText(files));
  assert.deepEqual(clean.problems, []);
  assert.equal(clean.files, 4);
  assert.ok(clean.actions > 20, `${clean.actions} actions`);

  const firstProblem = (changed: Map<string, TraceLine[]>) => {
    const problems = validateTrace(asText(changed)).problems;
    assert.ok(problems.length > 0, "the changed trace was taken as valid");
    return problems[0]!;
  };

  // A step left out: the next one starts from a state the node never reached.
  const prepare = stepWith(lines, "HandlePrePrepare");
  assert.ok(prepare > 0);
  const dropped = firstProblem(withLines(files, name, (ls) => ls.filter((_, k) => k !== prepare)));
  assert.equal(dropped.file, name);
  assert.ok(dropped.line >= prepare + 1, JSON.stringify(dropped));

  // A state the actions do not reach.
  const lied = firstProblem(
    withLines(
      files,
      name,
      (ls) =>
        ls.map((l, k) =>
          k === prepare && l.kind === "step" ? { ...l, state: { ...l.state, view: 7 } } : l
        ),
    ),
  );
  assert.equal(lied.line, prepare + 1);
  assert.match(lied.message, /not the one the actions reach: view 7/);

  // An action that was not enabled: the node votes for a value nobody proposed.
  const bogus = firstProblem(withLines(files, name, (ls) =>
    ls.map((l, k) => {
      if (k !== prepare || l.kind !== "step") return l;
      const actions = l.actions.map((a) =>
        a.name === "HandlePrePrepare"
          ? { ...a, params: { ...a.params, m: { ...(a.params["m"] as object), value: "ff" } } }
          : a
      );
      return { ...l, actions } as TraceLine;
    })));
  assert.equal(bogus.line, prepare + 1);
  assert.match(bogus.message, /HandlePrePrepare\(.*\) is not enabled for node 2/);

  // A restart that comes back with less than the node had on disk (its vote, its commit).
  const last = lines.findLast((l): l is TraceStepLine => l.kind === "step")!;
  const header = lines.find((l): l is TraceInstanceLine => l.kind === "instance")!;
  const cluster = clusterConfigWith<string>(header.constants, {
    firstInput: () => header.firstInput,
    resultOf: () => undefined,
  });
  const lost = durableOf(initialNodeState(2, cluster));
  const restarted = firstProblem(withLines(files, name, (ls) => [
    ...ls,
    header,
    { ...last, event: { kind: "restart", durable: lost }, received: [], actions: [], sent: [] },
  ]));
  assert.equal(restarted.line, lines.length + 2);
  assert.match(restarted.message, /never had on disk/);

  // A node killed after writing a line but before its step reached the disk restarts with the
  // state from before that line: not a loss.
  // (A step that sends and changes a durable field: its vote.)
  const sending = lines.findIndex((l) =>
    l.kind === "step" && l.sent.length > 0 && l.actions.some((a) => a.name === "HandlePrePrepare")
  );
  assert.ok(sending > 0, "a step that votes");
  const beforeIt = lines.slice(0, sending).findLast((l): l is TraceStepLine => l.kind === "step")!;
  assert.notDeepEqual(
    durableOf(beforeIt.state),
    durableOf((lines[sending] as TraceStepLine).state),
  );
  const cut = withLines(files, name, (ls) => [
    ...ls.slice(0, sending + 1),
    header,
    {
      ...(ls[sending] as TraceStepLine),
      event: { kind: "restart", durable: durableOf(beforeIt.state) },
      received: [],
      actions: [],
      sent: [],
      state: { ...initialNodeState(2, cluster), ...durableOf(beforeIt.state) },
    },
  ]);
  const cutProblems = validateTrace(asText(cut)).problems.filter((p) => p.file === name);
  assert.deepEqual(cutProblems.filter((p) => /never had on disk/.test(p.message)), []);

  // A committed result replaced later on: no action of the core reaches that state.
  const committedAt = lines.findIndex((l) => l.kind === "step" && l.state.committed !== -1);
  assert.ok(lines.slice(committedAt + 1).some((l) => l.kind === "step"), "steps after the commit");
  const replaced = firstProblem(
    withLines(
      files,
      name,
      (ls) =>
        ls.map((l, k) =>
          k > committedAt && l.kind === "step"
            ? { ...l, state: { ...l.state, committed: "ab" } }
            : l
        ),
    ),
  );
  assert.match(replaced.message, /committed "ab"/);

  // Garbage in the middle of a file (before a step, so no kill tore it), and a step before any
  // instance line.
  const garbage = new Map(asText(files));
  const [first, ...rest] = garbage.get(name)!.split("\n");
  garbage.set(name, [first, '{"kind":"step"', ...rest].join("\n"));
  assert.deepEqual(validateTrace(garbage).problems[0], {
    file: name,
    line: 2,
    message: "not JSON",
  });
  // A line torn by a kill -9, the last before the node runs again, is no step it took.
  const torn = new Map(asText(files));
  const text = torn.get(name)!;
  const restartAt = text.indexOf('{"kind":"instance"', 1);
  const tornText = restartAt < 0
    ? `${text}{"kind":"step","node`
    : `${text.slice(0, restartAt)}{"kind":"step","node\n${text.slice(restartAt)}`;
  torn.set(name, tornText);
  assert.deepEqual(validateTrace(torn).problems, []);
  const orphan = firstProblem(
    withLines(files, name, (ls) => ls.filter((l) => l.kind !== "instance")),
  );
  assert.match(orphan.message, /before its instance line/);
});

Deno.test("TraceWriter ends a line a kill -9 tore before it appends, so the next line stands alone", async () => {
  const dir = await Deno.makeTempDir({ prefix: "butterfly-trace-" });
  try {
    await Deno.writeTextFile(`${dir}/node-0.ndjson`, '{"kind":"instance"}\n{"kind":"st');
    const writer = await TraceWriter.open(dir, "node-0");
    writer.write({ kind: "instance" } as TraceLine);
    writer.close();
    const lines = (await Deno.readTextFile(`${dir}/node-0.ndjson`)).split("\n");
    assert.deepEqual(lines, ['{"kind":"instance"}', '{"kind":"st', '{"kind":"instance"}', ""]);
    assert.ok(tornByKill(lines, 1));
    assert.ok(!tornByKill(['{"kind":"st', '{"kind":"step"}'], 0));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("validateTraceDir() reads every node's file of a directory", async () => {
  const dir = await Deno.makeTempDir({ prefix: "butterfly-trace-" });
  try {
    const report = await validateTraceDir(dir);
    assert.equal(report.files, 0);
    await Deno.writeTextFile(`${dir}/node-0.ndjson`, "not json\n{}\n");
    const bad = await validateTraceDir(dir);
    assert.deepEqual(bad.problems.map((p) => p.line), [1, 2]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
