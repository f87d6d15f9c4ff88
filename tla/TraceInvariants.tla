--------------------------- MODULE TraceInvariants ---------------------------
(***************************************************************************)
(* TLC's verdict on each safety property of ButterflyCoordination in given *)
(* states ("probes"), so that the TypeScript invariants are checked against*)
(* TLC where they fail, not only on the corpus, where every one holds.     *)
(* conformance/invariant_verdicts.ts writes the probes (corpus states,     *)
(* perturbed) in TLC's own JSON shape, one per line:                       *)
(*   {"state": <the spec's variables>, "after": <committed, one per node>, *)
(*    "vcs": <view changes>, "vcView": <a view>}                           *)
(* TLC binds the spec's variables to each probe (one initial state each)   *)
(* and VerdictExport appends, per probe, the value of every invariant, of  *)
(* CommitStable's step from the probe to a state with `after` committed,   *)
(* and of AllowedSeeds and ValidViewChangeQuorum on the view changes.      *)
(* The spec is untouched. deno task verdicts runs it.                      *)
(***************************************************************************)
EXTENDS ButterflyCoordination, Json, IOUtils

CONSTANTS
    ProbeFile,   \* the probes, NDJSON
    VerdictFile  \* where the verdicts go (appended)

VARIABLE probe   \* the probe's line number

Probes == ndJsonDeserialize(ProbeFile)

\* JSON has no sets: TLC wrote each set as an array, which reads back as a sequence.
ToSet(seq) == {seq[j] : j \in DOMAIN seq}
AsMessage(m) == IF m.type = "NewView" THEN [m EXCEPT !.viewChanges = ToSet(@)] ELSE m
PerNode(seq) == [i \in Node |-> seq[i]]

ProbeInit ==
    \E k \in DOMAIN Probes :
        LET st == Probes[k].state IN
        /\ probe = k
        /\ status = PerNode(st.status)
        /\ view = PerNode(st.view)
        /\ seed = PerNode(st.seed)
        /\ progress = [i \in Node |-> [s \in Stage |-> st.progress[i][s]]]
        /\ tokens = PerNode(st.tokens)
        /\ vote = PerNode(st.vote)
        /\ prepared = PerNode(st.prepared)
        /\ committed = PerNode(st.committed)
        /\ stableCheckpoint = PerNode(st.stableCheckpoint)
        /\ suspected = [i \in Node |-> ToSet(st.suspected[i])]
        /\ excluded = [i \in Node |-> ToSet(st.excluded[i])]
        /\ msgs = {AsMessage(m) : m \in ToSet(st.msgs)}
        /\ byzantineSent = st.byzantineSent
        /\ crashes = st.crashes

ProbeNext == UNCHANGED <<vars, probe>>

\* The step predicate of CommitStable (== [][A]_vars), from the probe to a state whose committed
\* results are `after`. The spec names no A, so it is written out here: keep the two the same.
CommitKept(after) == \A i \in Honest : committed[i] # NoValue => after[i] = committed[i]

\* The probe's view changes, for the spec's AllowedSeeds and ValidViewChangeQuorum.
ProbeViewChanges == ToSet(Probes[probe].vcs)

Verdict ==
    [probe |-> probe,
     TypeOK |-> TypeOK,
     Agreement |-> Agreement,
     Consistency |-> Consistency,
     Validity |-> Validity,
     ByzantineResistance |-> ByzantineResistance,
     CheckpointIntegrity |-> CheckpointIntegrity,
     ExclusionAccuracy |-> ExclusionAccuracy,
     CommitStable |-> CommitKept(Probes[probe].after),
     AllowedSeeds |-> AllowedSeeds(ProbeViewChanges),
     ValidViewChangeQuorum |-> ValidViewChangeQuorum(ProbeViewChanges, Probes[probe].vcView)]

\* Written as an invariant (always TRUE): TLC checks it in every initial state, one per probe.
VerdictExport ==
    Serialize(<<Verdict>>, VerdictFile,
        [format |-> "NDJSON", charset |-> "UTF-8",
         openOptions |-> <<"WRITE", "CREATE", "APPEND">>])
=============================================================================
