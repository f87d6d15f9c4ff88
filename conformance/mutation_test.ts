import assert from "node:assert/strict";
import { type Equivalents, scoreFile } from "./mutation.ts";

const SOURCE = [
  "export function f(node) {",
  '  if (node.view !== 0) return disabled("past view 0");',
  "  return enabled(node, []);",
  "}",
].join("\n");

function mutant(
  id: string,
  mutatorName: string,
  status: string,
  start: [number, number],
  end: [number, number],
  replacement: string,
) {
  return {
    id,
    mutatorName,
    status,
    replacement,
    location: {
      start: { line: start[0], column: start[1] },
      end: { line: end[0], column: end[1] },
    },
  };
}

const MUTANTS = [
  // `node.view !== 0` -> `false`: killed.
  mutant("1", "ConditionalExpression", "Killed", [2, 7], [2, 22], "false"),
  // The reason string -> "": equivalent by rule.
  mutant("2", "StringLiteral", "Survived", [2, 40], [2, 53], '""'),
  // `!==` -> `===`: survived, unexplained unless listed.
  mutant("3", "EqualityOperator", "Survived", [2, 7], [2, 22], "node.view === 0"),
];

const RULES: Equivalents = {
  rules: [{ mutator: "StringLiteral", after: "disabled(", reason: "text for people" }],
  mutants: {},
};

Deno.test("scoreFile() counts killed, equivalent by rule and unexplained survivors", () => {
  const score = scoreFile("src/core/f.ts", SOURCE, MUTANTS, RULES);
  assert.equal(score.killed, 1);
  assert.equal(score.equivalent, 1);
  assert.equal(score.survived, 1);
  assert.equal(score.unexplained.length, 1);
  assert.match(
    score.unexplained[0] as string,
    /src\/core\/f.ts:2:7 src\/core\/f.ts \| EqualityOperator \| node.view !== 0 => node.view === 0/,
  );
});

Deno.test("scoreFile() takes a survivor listed as equivalent out of the score", () => {
  const listed: Equivalents = {
    rules: RULES.rules,
    mutants: {
      "src/core/f.ts | EqualityOperator | node.view !== 0 => node.view === 0": "a reason",
    },
  };
  const score = scoreFile("src/core/f.ts", SOURCE, MUTANTS, listed);
  assert.equal(score.survived, 0);
  assert.equal(score.equivalent, 2);
  // Without the rule the reason string's mutant is an unexplained survivor.
  assert.equal(scoreFile("src/core/f.ts", SOURCE, MUTANTS, { rules: [], mutants: {} }).survived, 2);
});

Deno.test("scoreFile() applies a rule to the mutants within one declaration only", () => {
  const source = [
    "export function f(node) {",
    "  return node.view > 0;",
    "}",
    "export function g(node) {",
    "  return node.view > 0;",
    "}",
  ].join("\n");
  const mutants = [
    mutant("1", "EqualityOperator", "Survived", [2, 10], [2, 23], "node.view >= 0"),
    mutant("2", "EqualityOperator", "Survived", [5, 10], [5, 23], "node.view >= 0"),
  ];
  const within: Equivalents = {
    rules: [{ within: "export function g(", reason: "g only runs on ..." }],
    mutants: {},
  };
  const score = scoreFile("src/core/f.ts", source, mutants, within);
  assert.equal(score.equivalent, 1);
  assert.equal(score.survived, 1);
  assert.match(score.unexplained[0] as string, /f.ts:2:10/);
});

Deno.test("scoreFile() counts survivors of code outside the replay apart from the score", () => {
  const outside: Equivalents = {
    rules: [{ within: "export function f(", outside: true, reason: "another layer's" }],
    mutants: {},
  };
  const score = scoreFile("src/core/f.ts", SOURCE, MUTANTS, outside);
  assert.equal(score.outside, 2);
  assert.equal(score.survived, 0);
  assert.equal(score.killed, 1);
});
