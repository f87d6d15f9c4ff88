--------------------------- MODULE TraceButterfly ---------------------------
(***************************************************************************)
(* Trace export for conformance testing: TLC in -simulate mode walks random *)
(* behaviours of ButterflyCoordination and writes each one as one NDJSON    *)
(* line: the sequence of states, each with the action that led to it       *)
(* (`action`: name and named parameters, since TLC names actions whose      *)
(* quantifier ranges over a variable "Next") and, for the state before it, *)
(* which honest nodes had each protocol action enabled (`enabled`), so the *)
(* TypeScript guards are checked in both directions. The spec is untouched: *)
(* this module only conjoins bookkeeping to each of its actions.           *)
(* deno task traces (conformance/generate_traces.ts) runs it.              *)
(***************************************************************************)
EXTENDS ButterflyCoordination, TLCExt, IOUtils

CONSTANTS
    TraceFile,   \* where the NDJSON lines go (appended)
    TraceDepth   \* the behaviour length written; equal to TLC's -depth

VARIABLES action, enabled

\* Honest nodes with some instance of each protocol action enabled in the current state.
EnabledNow ==
    [SendAssign |-> {i \in Honest : ENABLED (\E x \in Seeds : SendAssign(i, x))},
     HandleAssign |-> {i \in Honest : ENABLED (\E m \in msgs : HandleAssign(i, m))},
     ComputeStage |-> {i \in Honest :
        ENABLED (\E t \in Token, s \in Stage, x \in Value : ComputeStage(i, t, s, x))},
     AcceptToken |-> {i \in Honest : ENABLED (\E t \in Token, x \in Value : AcceptToken(i, t, x))},
     TakeCheckpoint |-> {i \in Honest : ENABLED (\E p \in 1..T : TakeCheckpoint(i, p))},
     HandleCheckpoint |-> {i \in Honest : ENABLED (\E m \in msgs : HandleCheckpoint(i, m))},
     RestoreCheckpoint |-> {i \in Honest : ENABLED RestoreCheckpoint(i)},
     SendPrePrepare |-> {i \in Honest : ENABLED SendPrePrepare(i)},
     HandlePrePrepare |-> {i \in Honest : ENABLED (\E m \in msgs : HandlePrePrepare(i, m))},
     SendCommit |-> {i \in Honest : ENABLED SendCommit(i)},
     CommitStandard |-> {i \in Honest : ENABLED CommitStandard(i)},
     CommitFast |-> {i \in Honest : ENABLED CommitFast(i)},
     LearnCommit |-> {i \in Honest : ENABLED (\E v \in View, x \in Value : LearnCommit(i, v, x))},
     ExcludeNode |-> {i \in Honest : ENABLED (\E m1, m2 \in msgs : ExcludeNode(i, m1, m2))},
     StartViewChange |-> {i \in Honest : ENABLED StartViewChange(i)},
     JoinViewChange |-> {i \in Honest : ENABLED (\E v \in 1..MaxView : JoinViewChange(i, v))},
     SendNewView |-> {i \in Honest : ENABLED (\E v \in 1..MaxView :
        \E vcs \in QuorumSubsets(ViewChangesFor(v)), x \in Seeds : SendNewView(i, vcs, x))},
     HandleNewView |-> {i \in Honest : ENABLED (\E m \in msgs : HandleNewView(i, m))}]

Did(name, params) == action' = [name |-> name, params |-> params] /\ enabled' = EnabledNow

TraceInit == Init /\ action = [name |-> "Init", params |-> [none |-> 0]] /\ enabled = EnabledNow

TraceNext ==
    \/ \E i \in Honest, x \in Seeds :
          SendAssign(i, x) /\ Did("SendAssign", [i |-> i, x |-> x])
    \/ \E i \in Honest, m \in msgs :
          HandleAssign(i, m) /\ Did("HandleAssign", [i |-> i, m |-> m])
    \/ \E i \in Honest, t \in Token, s \in Stage, x \in Value :
          ComputeStage(i, t, s, x) /\ Did("ComputeStage", [i |-> i, t |-> t, s |-> s, x |-> x])
    \/ \E i \in Honest, t \in Token, x \in Value :
          AcceptToken(i, t, x) /\ Did("AcceptToken", [i |-> i, t |-> t, x |-> x])
    \/ \E i \in Honest, p \in 1..T :
          TakeCheckpoint(i, p) /\ Did("TakeCheckpoint", [i |-> i, p |-> p])
    \/ \E i \in Honest, m \in msgs :
          HandleCheckpoint(i, m) /\ Did("HandleCheckpoint", [i |-> i, m |-> m])
    \/ \E i \in Honest : RestoreCheckpoint(i) /\ Did("RestoreCheckpoint", [i |-> i])
    \/ \E i \in Honest : SendPrePrepare(i) /\ Did("SendPrePrepare", [i |-> i])
    \/ \E i \in Honest, m \in msgs :
          HandlePrePrepare(i, m) /\ Did("HandlePrePrepare", [i |-> i, m |-> m])
    \/ \E i \in Honest : SendCommit(i) /\ Did("SendCommit", [i |-> i])
    \/ \E i \in Honest : CommitStandard(i) /\ Did("CommitStandard", [i |-> i])
    \/ \E i \in Honest : CommitFast(i) /\ Did("CommitFast", [i |-> i])
    \/ \E i \in Honest, v \in View, x \in Value :
          LearnCommit(i, v, x) /\ Did("LearnCommit", [i |-> i, v |-> v, x |-> x])
    \/ \E i \in Honest : StartViewChange(i) /\ Did("StartViewChange", [i |-> i])
    \/ \E i \in Honest, v \in 1..MaxView :
          JoinViewChange(i, v) /\ Did("JoinViewChange", [i |-> i, v |-> v])
    \/ \E i \in Honest, v \in 1..MaxView : \E vcs \in QuorumSubsets(ViewChangesFor(v)), x \in Seeds :
          SendNewView(i, vcs, x) /\ Did("SendNewView", [i |-> i, vcs |-> vcs, x |-> x])
    \/ \E i \in Honest, m \in msgs :
          HandleNewView(i, m) /\ Did("HandleNewView", [i |-> i, m |-> m])
    \/ \E i \in Honest : ViewTimeout(i) /\ Did("ViewTimeout", [i |-> i])
    \/ \E i \in Honest, j \in Node : Suspect(i, j) /\ Did("Suspect", [i |-> i, j |-> j])
    \/ \E i \in Honest, j \in Node :
          HandleHeartbeat(i, j) /\ Did("HandleHeartbeat", [i |-> i, j |-> j])
    \/ \E i \in Honest, m1, m2 \in msgs :
          ExcludeNode(i, m1, m2) /\ Did("ExcludeNode", [i |-> i, m1 |-> m1, m2 |-> m2])
    \/ \E i \in Honest : Crash(i) /\ Did("Crash", [i |-> i])
    \/ \E i \in Honest : Recover(i) /\ Did("Recover", [i |-> i])
    \/ \E b \in Byzantine : \E m \in ByzantineMessages(b) :
          ByzantineSend(b, m) /\ Did("ByzantineSend", [b |-> b, m |-> m])

TraceSpec == TraceInit /\ [][TraceNext]_<<vars, action, enabled>>

\* Written as an invariant: when a behaviour reaches TraceDepth states, append it as one line.
\* (Behaviours that deadlock earlier are not written; the configurations keep that rare.)
TraceExport ==
    TLCGet("level") = TraceDepth =>
        Serialize(<<Trace>>, TraceFile,
            [format |-> "NDJSON", charset |-> "UTF-8",
             openOptions |-> <<"WRITE", "CREATE", "APPEND">>])
=============================================================================
