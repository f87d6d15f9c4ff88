--------------------------------- MODULE MC ---------------------------------
(***************************************************************************)
(* Model-checking harness for ButterflyCoordination: the realistic bugs    *)
(* (mutants) that the MCBug*.cfg configurations substitute for the spec's  *)
(* definitions, to show that each safety property has teeth.               *)
(***************************************************************************)
EXTENDS ButterflyCoordination

\* A quorum one vote too small: two quorums may then share only Byzantine nodes.
BugQuorumTooSmall == (N + F) \div 2

\* A quorum of F + 1, what a "2f + 1 nodes tolerate f" design needs to make progress while one
\* node is silent.
BugQuorumMajority == F + 1

\* A stage output accepted on the word of a single replica.
BugStageAcceptThreshold == 1

\* A proposal voted for unchecked, as the seed's Proof::verify did.
BugProposalValid(i, m) == TRUE

\* A checkpoint taken as stable on one node's word.
BugCheckpointQuorum == 1

\* A view change that ignores what the previous views prepared.
BugAllowedSeeds(vcs) == Seeds

\* Evidence that ignores views and slots: any two different messages of a type from one node.
BugConflicting(m1, m2) == m1.from = m2.from /\ m1.type = m2.type /\ m1 # m2

\* No state transfer: a node learns a result only by voting for it in its own view.
BugLearnCommit(i, v, x) == FALSE

\* A commit certificate judged by the signers node i does not exclude now: a node that excluded
\* a signer after it signed never learns the result (the spec before state transfer judged
\* certificates by their signatures).
BugCertified(i, v, x) ==
    \/ VoteCount(i, "Commit", v, x) >= Quorum
    \/ VoteCount(i, "Prepare", v, x) >= FastQuorum

\* A checkpoint stable only on signers node i does not exclude now.
BugCheckpointStable(i, m) == Cardinality(Signers(i, MatchingCheckpoints(m))) >= CheckpointQuorum

\* No view-change timer: a view whose coordinator is up and honest is never left.
BugViewTimeout(i) == FALSE

\* A search restriction for the crash-recovery liveness models (a state constraint): only the
\* first coordinator crashes, which is the case that strands a node alone in view 1. Crashes are
\* not under fairness, so cutting the others leaves fewer behaviours to check, never a spurious
\* one.
OnlyCoordinatorCrashes == \A i \in Honest \ {Primary(0)} : status[i] = "up"

\* Search restrictions for the exclusion liveness models (state constraints), checked under
\* LiveRecoverySpec. Each prunes only steps that no fairness condition of LiveRecoverySpec
\* covers (crashes, Byzantine messages, suspicions, exclusions), so a fair behaviour stays fair
\* and a violation found is a real behaviour. (Pruning a step under fairness would make the
\* behaviours that need it unfair, and a check could pass vacuously.)
\* ExclusionSearch: only the first coordinator crashes, and the Byzantine node signs only Commits
\* of view 0 (one that completes a quorum, and one that conflicts with it and gets it excluded).
ExclusionSearch ==
    /\ OnlyCoordinatorCrashes
    /\ \A m \in msgs : m.from \in Byzantine => m.type = "Commit" /\ m.view = 0
    /\ \A i \in Honest : suspected[i] \subseteq {Primary(0)}

\* CheckpointExclusionSearch: only the first coordinator crashes, and only once some honest node
\* holds a stable checkpoint; the Byzantine node signs only checkpoints (one that completes a
\* quorum, and one that conflicts with it); only node 3, a replica of view 1, suspects the
\* coordinator or acts on the evidence (the others may never do either).
CheckpointExclusionSearch ==
    /\ OnlyCoordinatorCrashes
    /\ crashes > 0 => \E i \in Honest : stableCheckpoint[i].seed # NoSeed
    /\ \A m \in msgs : m.from \in Byzantine => m.type = "Checkpoint"
    /\ \A i \in Honest \ {3} : excluded[i] = {} /\ suspected[i] = {}
    /\ suspected[3] \subseteq {Primary(0)}

\* A search restriction for the mutants whose counterexamples need a view change (a state
\* constraint, not a change of the spec): Byzantine nodes only vote for real results and lie in
\* view changes only by hiding what they prepared and voted for; nobody is excluded; honest
\* nodes suspect only the first coordinator. A violation found under it is a real behaviour of
\* the spec; the restriction keeps breadth-first search to these depths within minutes.
FocusedSearch ==
    /\ \A m \in msgs : m.from \in Byzantine =>
          \/ m.type \in {"Prepare", "Commit"} /\ m.value \in {Result(x) : x \in Seeds}
          \/ m.type = "ViewChange" /\ m.prepared = NoVote /\ m.voted = NoVote
    /\ \A i \in Honest : excluded[i] = {} /\ suspected[i] \subseteq {Primary(0)}

\* A further restriction for BugViewChangeIgnoresPrepared: honest nodes suspect the first
\* coordinator only once some result has a commit certificate in view 0, so that the random
\* walk reaches the view change that the mutant gets wrong instead of abandoning view 0 early.
SuspectAfterCommit ==
    /\ FocusedSearch
    /\ (\E i \in Honest : suspected[i] # {}) => \E x \in ResultValue : CommitCertificate(0, x)
=============================================================================
