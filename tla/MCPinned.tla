------------------------------ MODULE MCPinned ------------------------------
(***************************************************************************)
(* The lemma behind a NewView check that a node makes before it computed   *)
(* the result (spec/PROTOCOL.md section 5.1, the core's seedAllowed): a    *)
(* value that view changes can pin, a prepared certificate's or a vote     *)
(* that F + 1 view changes report alike, has an honest signer, and so is   *)
(* the result of a seed the cluster assigns. Where the cluster assigns one *)
(* seed only, as reference nodes do, the pinned value is that seed's       *)
(* result, and a node may accept the seed without having computed it.     *)
(* A module of its own so that the other models' results stay valid.      *)
(***************************************************************************)
EXTENDS MC

SeedResults == {Result(x) : x \in Seeds}

ViewChangesSent == {m \in msgs : m.type = "ViewChange"}

\* Counted over every view change sent, in any view: a superset of any quorum AllowedSeeds reads,
\* so a vote that F + 1 of a quorum report alike is covered.
PinnedValuesAreResults ==
    /\ \A v \in View, x \in ResultValue : PreparedCertificate(v, x) => x \in SeedResults
    /\ \A vt \in {m.voted : m \in ViewChangesSent} :
          (vt.view >= 0 /\ Cardinality({m.from : m \in {m \in ViewChangesSent : m.voted = vt}}) >= F + 1)
              => vt.value \in SeedResults
=============================================================================
