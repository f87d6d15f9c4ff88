--------------------------- MODULE TraceButterfly ---------------------------
(***************************************************************************)
(* Trace export for conformance testing: TLC in -simulate mode walks random *)
(* behaviours of ButterflyCoordination and writes each one as one NDJSON    *)
(* line: the sequence of states, each with the action that led to it       *)
(* (`action`: name and named parameters, since TLC names actions whose      *)
(* quantifier ranges over a variable "Next") and, for the state before it, *)
(* every enabled instance of each honest node's actions, parameters and   *)
(* all (`enabled`), so the TypeScript guards are checked in both           *)
(* directions. The spec is untouched: this module conjoins bookkeeping to  *)
(* each of its actions, and adds ByzantineNoise: messages honest nodes     *)
(* must refuse, which the spec leaves out of ByzantineMessages.            *)
(* deno task traces (conformance/generate_traces.ts) runs it.              *)
(***************************************************************************)
EXTENDS ButterflyCoordination, TLCExt, IOUtils

CONSTANTS
    TraceFile,   \* where the NDJSON lines go (appended)
    TraceDepth   \* the behaviour length written; equal to TLC's -depth

VARIABLES action, enabled

\* The enabled instances of every action of an honest node in the current state: for each action,
\* the set of its parameter records (the same records as `action.params`) for which it is
\* enabled. ExcludeNode's candidates are the pairs of messages with one signer and one type
\* (Conflicting needs both); every other action's are all its parameters.
EnabledNow ==
    [SendAssign |-> {q \in [i : Honest, x : Seeds] : ENABLED SendAssign(q.i, q.x)},
     HandleAssign |-> {q \in [i : Honest, m : msgs] : ENABLED HandleAssign(q.i, q.m)},
     ComputeStage |-> {q \in UNION {[i : Honest, t : {t}, s : {s}, x : InputValues(t, s)] :
                                    t \in Token, s \in Stage} :
        ENABLED ComputeStage(q.i, q.t, q.s, q.x)},
     AcceptToken |-> {q \in UNION {[i : Honest, t : {t}, x : ValuesAt(t, S)] : t \in Token} :
        ENABLED AcceptToken(q.i, q.t, q.x)},
     TakeCheckpoint |-> {q \in [i : Honest, p : 1..T] : ENABLED TakeCheckpoint(q.i, q.p)},
     HandleCheckpoint |-> {q \in [i : Honest, m : msgs] : ENABLED HandleCheckpoint(q.i, q.m)},
     RestoreCheckpoint |-> {q \in [i : Honest] : ENABLED RestoreCheckpoint(q.i)},
     SendPrePrepare |-> {q \in [i : Honest] : ENABLED SendPrePrepare(q.i)},
     HandlePrePrepare |-> {q \in [i : Honest, m : msgs] : ENABLED HandlePrePrepare(q.i, q.m)},
     SendCommit |-> {q \in [i : Honest] : ENABLED SendCommit(q.i)},
     CommitStandard |-> {q \in [i : Honest] : ENABLED CommitStandard(q.i)},
     CommitFast |-> {q \in [i : Honest] : ENABLED CommitFast(q.i)},
     LearnCommit |-> {q \in [i : Honest, v : View, x : ResultValue] :
        ENABLED LearnCommit(q.i, q.v, q.x)},
     ExcludeNode |-> {q \in UNION {{[i |-> i, m1 |-> m1, m2 |-> m2] :
                                     m2 \in {m \in msgs : m.from = m1.from /\ m.type = m1.type}} :
                                   i \in Honest, m1 \in msgs} :
        ENABLED ExcludeNode(q.i, q.m1, q.m2)},
     StartViewChange |-> {q \in [i : Honest] : ENABLED StartViewChange(q.i)},
     JoinViewChange |-> {q \in [i : Honest, v : 1..MaxView] : ENABLED JoinViewChange(q.i, q.v)},
     SendNewView |-> {q \in UNION {{[i |-> i, vcs |-> vcs, x |-> x] :
                                     vcs \in QuorumSubsets(ViewChangesFor(v)), x \in Seeds} :
                                   i \in Honest, v \in 1..MaxView} :
        ENABLED SendNewView(q.i, q.vcs, q.x)},
     HandleNewView |-> {q \in [i : Honest, m : msgs] : ENABLED HandleNewView(q.i, q.m)},
     ViewTimeout |-> {q \in [i : Honest] : ENABLED ViewTimeout(q.i)},
     Suspect |-> {q \in [i : Honest, j : Node] : ENABLED Suspect(q.i, q.j)},
     HandleHeartbeat |-> {q \in [i : Honest, j : Node] : ENABLED HandleHeartbeat(q.i, q.j)}]

\* Messages a Byzantine node b can sign that the spec's ByzantineMessages leaves out because
\* every honest node discards them on sight: an Assign, PrePrepare or NewView from a node that is
\* not the view's primary, a stage output from a node that is not a replica of its stage. The traces send them (ByzantineNoise) so that the TypeScript guards are
\* seen refusing them; they change no honest node's state, so the behaviours' honest steps are
\* behaviours of the spec.
RefusedMessages(b) ==
    (   [type : {"Assign"}, view : {0}, seed : Seeds, from : {b}]
     \cup UNION {[type : {"StageOutput"}, view : View, seed : Seeds, token : {t}, stage : {s},
                  value : ValuesAt(t, s), from : {b}] : t \in Token, s \in Stage}
     \cup [type : {"PrePrepare"}, view : View, value : ResultValue, from : {b}]
     \cup UNION {[type : {"NewView"}, view : {v}, viewChanges : QuorumSubsets(ViewChangesFor(v)),
                  seed : Seeds, from : {b}] : v \in 1..MaxView})
    \ ByzantineMessages(b)

MessageTypes ==
    {"Assign", "StageOutput", "PrePrepare", "Prepare", "Commit", "Checkpoint", "ViewChange",
     "NewView"}

ByzantineNoise(b, m) ==
    /\ b \in Byzantine /\ byzantineSent < MaxByzantineMessages
    /\ m \in RefusedMessages(b) /\ m \notin msgs
    /\ msgs' = msgs \cup {m}
    /\ byzantineSent' = byzantineSent + 1
    /\ UNCHANGED <<status, view, seed, progress, tokens, vote, prepared, committed,
                   stableCheckpoint, suspected, excluded, crashes>>

Did(name, params) == action' = [name |-> name, params |-> params] /\ enabled' = EnabledNow

TraceInit == Init /\ action = [name |-> "Init", params |-> [none |-> 0]] /\ enabled = EnabledNow

TraceNext ==
    \/ \E i \in Honest, x \in Seeds :
          SendAssign(i, x) /\ Did("SendAssign", [i |-> i, x |-> x])
    \/ \E i \in Honest, m \in msgs :
          HandleAssign(i, m) /\ Did("HandleAssign", [i |-> i, m |-> m])
    \/ \E i \in Honest, t \in Token, s \in Stage : \E x \in InputValues(t, s) :
          ComputeStage(i, t, s, x) /\ Did("ComputeStage", [i |-> i, t |-> t, s |-> s, x |-> x])
    \/ \E i \in Honest, t \in Token : \E x \in ValuesAt(t, S) :
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
    \/ \E i \in Honest, v \in View, x \in ResultValue :
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
    \* One disjunct per message type, so that TLC's random walk draws each type of Byzantine
    \* message as often as the others, not in proportion to how many such messages there are.
    \/ \E b \in Byzantine, type \in MessageTypes :
          \E m \in {m \in ByzantineMessages(b) : m.type = type} :
              ByzantineSend(b, m) /\ Did("ByzantineSend", [b |-> b, m |-> m])
    \/ \E b \in Byzantine, type \in MessageTypes :
          \E m \in {m \in RefusedMessages(b) : m.type = type} :
              ByzantineNoise(b, m) /\ Did("ByzantineNoise", [b |-> b, m |-> m])

\* A focus some configurations set as their ACTION_CONSTRAINT, so that the random walks go
\* through every view with a vote in each: no honest node commits before the last view, none
\* leaves a view before it voted in it unless another is ahead already, and the failure detector
\* stays quiet (view changes come from the timer). The behaviours are still the spec's: TLC only
\* draws among fewer successors.
ViewWalk ==
    /\ \A i \in Honest : committed'[i] # committed[i] => view[i] = MaxView
    /\ \A i \in Honest : view'[i] > view[i] =>
          vote[i].view = view[i] \/ \E j \in Honest : view[j] > view[i]
    /\ suspected' = suspected

\* ViewWalk with a Byzantine node that signs only NewViews: its budget is kept for the view change.
NewViewWalk ==
    /\ ViewWalk
    /\ byzantineSent' > byzantineSent => \A m \in msgs' \ msgs : m.type = "NewView"

\* A focus for a Byzantine primary of view 0 (ACTION_CONSTRAINT): it signs only its assignment and
\* proposals of view 0, so its budget goes to two conflicting proposals (the evidence that gets it
\* excluded, one of them possibly the right result), and no honest node leaves view 0. A node that
\* excluded it must then refuse its proposal, right or not.
ProposalWalk ==
    /\ byzantineSent' > byzantineSent =>
          \A m \in msgs' \ msgs : m.type \in {"Assign", "PrePrepare"} /\ m.view = 0
    /\ view' = view

TraceSpec == TraceInit /\ [][TraceNext]_<<vars, action, enabled>>

\* Written as an invariant: when a behaviour reaches TraceDepth states, append it as one line.
\* (Behaviours that deadlock earlier are not written; the configurations keep that rare.)
TraceExport ==
    TLCGet("level") = TraceDepth =>
        Serialize(<<Trace>>, TraceFile,
            [format |-> "NDJSON", charset |-> "UTF-8",
             openOptions |-> <<"WRITE", "CREATE", "APPEND">>])
=============================================================================
