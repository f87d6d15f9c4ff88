// Replays the first behaviours of every committed trace file through the core and checks that
// each step's guard, next state and enabled set match TLC's; the full corpus is `deno task
// conformance`; on workers, the report must be the one-thread report.
import assert from "node:assert/strict";
import { parseArgs } from "./main.ts";
import { corpusFiles, replayTraces } from "./run.ts";
import { readTraceFile } from "./trace_file.ts";

/** Behaviours replayed from each trace file: enough to take every core path, fast on CI. */
const SLICE_BEHAVIOURS_PER_FILE = 40;

Deno.test("replayTraces() replays a slice of the corpus with zero mismatches", async () => {
  const paths = await corpusFiles();
  assert.ok(paths.length >= 5, `only ${paths.length} trace files`);
  const report = await replayTraces(paths, { behavioursPerFileMax: SLICE_BEHAVIOURS_PER_FILE });
  assert.deepEqual(report.problems, []);
  assert.deepEqual(report.mismatches, []);
  assert.equal(report.behaviours, SLICE_BEHAVIOURS_PER_FILE * paths.length);
  assert.ok(report.steps > 0);
});

Deno.test("replayTraces() reports the first mismatch of a core with a wrong quorum", async () => {
  // A quorum one too large: the core must refuse a step TLC took, or disagree on enabledness.
  const [path] = await corpusFiles();
  const report = await replayTraces([path as string], {
    behavioursPerFileMax: SLICE_BEHAVIOURS_PER_FILE,
    adjustCluster: (cluster) => ({ ...cluster, quorum: cluster.quorum + 1 }),
    stopAtFirst: true,
  });
  assert.equal(report.mismatches.length, 1);
  assert.match(report.mismatches[0] as string, /behaviour \d+, step \d+/);
});

Deno.test("replayTraces() on workers reports what it reports in one thread", async () => {
  // A slice of a corpus file with the last state of two behaviours changed: the workers'
  // chunks (8 behaviours each) must merge to the one-thread report, mismatches in order.
  const [path] = await corpusFiles();
  const file = await readTraceFile(path as string);
  const corrupt = (line: string): string => {
    const at = line.lastIndexOf('"crashes":0');
    return `${line.slice(0, at)}"crashes":9${line.slice(at + '"crashes":0'.length)}`;
  };
  const lines = file.lines.slice(0, 20).map((line, index) =>
    index === 3 || index === 17 ? corrupt(line) : line
  );
  const slice = await Deno.makeTempFile({ suffix: ".ndjson" });
  try {
    await Deno.writeTextFile(slice, [JSON.stringify(file.header), ...lines].join("\n") + "\n");
    const inThread = await replayTraces([slice, path as string], { behavioursPerFileMax: 20 });
    const onWorkers = await replayTraces([slice, path as string], {
      behavioursPerFileMax: 20,
      workers: 2,
    });
    assert.equal(inThread.workers, 1);
    assert.equal(onWorkers.workers, 2);
    assert.equal(inThread.mismatches.length, 2);
    assert.match(inThread.mismatches[0] as string, /behaviour 4, step \d+/);
    assert.match(inThread.mismatches[1] as string, /behaviour 18, step \d+/);
    assert.deepEqual(onWorkers.mismatches, inThread.mismatches);
    assert.deepEqual([...onWorkers.coverage], [...inThread.coverage]);
    assert.equal(onWorkers.behaviours, inThread.behaviours);
    assert.equal(onWorkers.steps, inThread.steps);
    assert.deepEqual(onWorkers.problems, inThread.problems);
  } finally {
    await Deno.remove(slice);
  }
});

Deno.test("parseArgs() reads --workers and the trace files", () => {
  assert.deepEqual(parseArgs(["--workers", "3", "a.ndjson"]), {
    workers: 3,
    stopAtFirst: false,
    skipResults: false,
    files: ["a.ndjson"],
  });
  assert.deepEqual(parseArgs(["--workers=1", "--stop-at-first", "--skip-results"]), {
    workers: 1,
    stopAtFirst: true,
    skipResults: true,
    files: [],
  });
  assert.throws(() => parseArgs(["--wrokers", "2"]), /Unknown option/);
  assert.equal(parseArgs([]).workers, navigator.hardwareConcurrency);
  assert.throws(() => parseArgs(["--workers", "0"]), /positive integer/);
  assert.throws(() => parseArgs(["--workers"]), /argument missing/);
});

Deno.test("deno task conformance names a trace file it cannot read, without a stack trace", async () => {
  const dir = await Deno.makeTempDir({ prefix: "butterfly-bad-trace-" });
  try {
    // A real header, so that the file passes the staleness check and its line is replayed.
    const [real] = await corpusFiles();
    const header = JSON.stringify((await readTraceFile(real as string)).header);
    const cases: [string, string, RegExp, number][] = [
      ["notjson.ndjson", "{not json\n", /has a first line that is not JSON/, 2],
      ["notgzip.ndjson.gz", "plain text", /is not gzip/, 2],
      ["badline.ndjson", `${header}\n{"oops": 1\n`, /behaviour 1 is not a TLC behaviour/, 1],
    ];
    for (const [name, content, pattern, code] of cases) {
      const path = `${dir}/${name}`;
      await Deno.writeTextFile(path, content);
      const output = await new Deno.Command(Deno.execPath(), {
        args: ["run", "--frozen", "--allow-read", "conformance/main.ts", "--skip-results", path],
        cwd: new URL("..", import.meta.url).pathname,
        env: { NO_COLOR: "1" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stderr = new TextDecoder().decode(output.stderr);
      assert.equal(output.code, code, `${name}: ${stderr}`);
      assert.ok(stderr.includes(path), `${name} is not named: ${stderr}`);
      assert.match(stderr, pattern, name);
      assert.doesNotMatch(stderr, /\n\s+at /, `${name}: a stack trace`);
    }
    const missing = `${dir}/missing.ndjson`;
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--frozen", "--allow-read", "conformance/main.ts", "--skip-results", missing],
      cwd: new URL("..", import.meta.url).pathname,
      stdout: "null",
      stderr: "piped",
    }).output();
    assert.equal(output.code, 2);
    assert.match(new TextDecoder().decode(output.stderr), /missing\.ndjson cannot be read/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
