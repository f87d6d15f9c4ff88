---------------------------- MODULE TraceRuntime ----------------------------
(***************************************************************************)
(* Trace validation of the running nodes, in the style of CCF's            *)
(* Traceccfraft.tla: TLC reads the merged runtime trace of one inference   *)
(* (`deno task tlc-trace DIR` writes it from the nodes' `--trace` files,   *)
(* values mapped to spec terms: an honest replica's output of token t at   *)
(* stage s is Out(1, t, s), any other value there is garbage Out(0, t, s)) *)
(* and checks that a behaviour of ButterflyCoordination explains it: each  *)
(* record is one action of one node, with the parameters the node took it  *)
(* with; a node's last record of a step carries its state after the step   *)
(* and the messages it signed, which must match. A kill -9 and restart is  *)
(* Crash then Recover, and the restored state must match too. Message loss *)
(* needs no action: a message in msgs is one the receiver may never take.  *)
(* TraceMatched fails a check that stops before the last record.           *)
(***************************************************************************)
EXTENDS ButterflyCoordination, Json, IOUtils, TLC

ASSUME TLCGet("config").mode = "bfs"

TraceLog == TLCEval(ndJsonDeserialize(IOEnv.BUTTERFLY_TLC_TRACE))

VARIABLE l

Rec == TraceLog[l]
P == Rec.params
I == Rec.node

ToSet(seq) == {seq[k] : k \in DOMAIN seq}

\* A message as the converter writes it: spec fields, a NewView's set of view changes as a list.
AsMsg(r) == IF r.type = "NewView" THEN [r EXCEPT !.viewChanges = ToSet(r.viewChanges)] ELSE r

\* The node's state after the record, where the record carries it.
StateMatches ==
    "state" \in DOMAIN Rec =>
        LET st == Rec.state IN
        /\ status'[I] = "up"
        /\ view'[I] = st.view
        /\ seed'[I] = st.seed
        /\ progress'[I] = [s \in Stage |-> st.progress[s]]
        /\ tokens'[I] = st.tokens
        /\ vote'[I] = st.vote
        /\ prepared'[I] = st.prepared
        /\ committed'[I] = st.committed
        /\ stableCheckpoint'[I] = st.stableCheckpoint
        /\ suspected'[I] = ToSet(st.suspected)
        /\ excluded'[I] = ToSet(st.excluded)

\* The messages the node signed in the step are ones the spec's actions sent.
SentMatches == "sent" \in DOMAIN Rec => \A k \in DOMAIN Rec.sent : AsMsg(Rec.sent[k]) \in msgs'

Taken(m) == m \in msgs

TraceAction ==
    \/ Rec.action = "SendAssign" /\ SendAssign(I, P.x)
    \/ Rec.action = "HandleAssign" /\ Taken(AsMsg(P.m)) /\ HandleAssign(I, AsMsg(P.m))
    \/ Rec.action = "ComputeStage" /\ ComputeStage(I, P.t, P.s, P.x)
    \/ Rec.action = "AcceptToken" /\ AcceptToken(I, P.t, P.x)
    \/ Rec.action = "TakeCheckpoint" /\ TakeCheckpoint(I, P.p)
    \/ Rec.action = "HandleCheckpoint" /\ HandleCheckpoint(I, AsMsg(P.m))
    \/ Rec.action = "RestoreCheckpoint" /\ RestoreCheckpoint(I)
    \/ Rec.action = "SendPrePrepare" /\ SendPrePrepare(I)
    \/ Rec.action = "HandlePrePrepare" /\ Taken(AsMsg(P.m)) /\ HandlePrePrepare(I, AsMsg(P.m))
    \/ Rec.action = "SendCommit" /\ SendCommit(I)
    \/ Rec.action = "CommitStandard" /\ CommitStandard(I)
    \/ Rec.action = "CommitFast" /\ CommitFast(I)
    \/ Rec.action = "LearnCommit" /\ LearnCommit(I, P.v, P.x)
    \/ Rec.action = "StartViewChange" /\ StartViewChange(I)
    \/ Rec.action = "JoinViewChange" /\ JoinViewChange(I, P.v)
    \/ Rec.action = "SendNewView" /\ SendNewView(I, {AsMsg(vc) : vc \in ToSet(P.vcs)}, P.x)
    \/ Rec.action = "HandleNewView" /\ Taken(AsMsg(P.m)) /\ HandleNewView(I, AsMsg(P.m))
    \/ Rec.action = "ViewTimeout" /\ ViewTimeout(I)
    \/ Rec.action = "Suspect" /\ Suspect(I, P.j)
    \/ Rec.action = "HandleHeartbeat" /\ HandleHeartbeat(I, P.j)
    \/ Rec.action = "ExcludeNode" /\ Taken(AsMsg(P.m1)) /\ Taken(AsMsg(P.m2))
                                   /\ ExcludeNode(I, AsMsg(P.m1), AsMsg(P.m2))
    \/ Rec.action = "Crash" /\ Crash(I)
    \/ Rec.action = "Recover" /\ Recover(I)
    \/ Rec.action = "ByzantineSend" /\ ByzantineSend(I, AsMsg(P.m))

TraceInit == Init /\ l = 1

TraceNext ==
    /\ l <= Len(TraceLog)
    /\ TraceAction
    /\ StateMatches
    /\ SentMatches
    /\ l' = l + 1

TraceSpec == TraceInit /\ [][TraceNext]_<<vars, l>>

\* Every record explained: checked once TLC has explored every state (a POSTCONDITION), so a
\* check that stops at the first record no action explains fails.
TraceMatched == TLCGet("stats").diameter = Len(TraceLog) + 1

\* Where a check stops early: the last record reached, for the report.
TraceAlias == [l |-> l, record |-> IF l <= Len(TraceLog) THEN TraceLog[l] ELSE "end"]
=============================================================================
