"""Step semantics and the order in which nodes update.

Within one step t (fixed dt):

1. Every *latched* node (projections, and any node whose outputs depend only on its state)
   emits its outputs from its state at the start of the step.
2. The other nodes update in topological order of the edges between them (file order breaks
   ties); each sees the same-step outputs of the nodes upstream of it.
3. An edge that closes a cycle among non-latched nodes delivers the previous step's value
   (zeros at step 0). The cycle is broken at the earliest node, in file order, still waiting.
4. Every latched node then takes this step's inputs and updates its state.

So a projection with delay d delivers a spike emitted at step t to its target at step t + d,
whatever the order of nodes in the file, and recurrent networks need no special handling.
"""
from __future__ import annotations


def order_nodes(node_ids: list[str], latched: set[str], deps: list[tuple[str, str]]):
    """Order the non-latched nodes; return (order, delayed) with ``delayed`` the set of edges
    (src, dst) that deliver the previous step's value.

    ``deps`` are (src node, dst node) pairs of edges; edges out of latched nodes impose no order.
    """
    pos = {n: i for i, n in enumerate(node_ids)}
    nodes = [n for n in node_ids if n not in latched]
    ins: dict[str, set[str]] = {n: set() for n in nodes}
    for src, dst in deps:
        if src in ins and dst in ins:
            ins[dst].add(src)
    done: set[str] = set()
    order: list[str] = []
    delayed: set[tuple[str, str]] = set()
    remaining = list(nodes)
    while remaining:
        ready = [n for n in remaining if all(s in done or (s, n) in delayed for s in ins[n])]
        if not ready:  # a cycle: break it at the earliest waiting node
            n = min(remaining, key=pos.__getitem__)
            for s in ins[n]:
                if s not in done:
                    delayed.add((s, n))
            ready = [n]
        n = min(ready, key=pos.__getitem__)
        order.append(n)
        done.add(n)
        remaining.remove(n)
    return order, delayed
