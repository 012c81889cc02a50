"""Social networks: who talks to whom about the firm.

Word of mouth runs over ties between people in the market. A scenario chooses complete
mixing (everyone hears everyone: the Bass model's assumption) or a random graph built with
networkx — Erdős–Rényi (random ties), Watts–Strogatz (a ring lattice with a share of ties
rewired: clustered, a "small world") or Barabási–Albert (preferential attachment:
scale-free, with hubs). The vector engine keeps the graph as a sparse adjacency matrix, so
a person's informed share is one sparse product per month (Goldenberg, Libai & Muller 2001).
"""

from __future__ import annotations

import networkx as nx
import numpy as np
from scipy import sparse

from sim.scenario import Network


def build_graph(settings: Network, size: int, seed: int) -> nx.Graph | None:
    """The social graph of a market of `size` people (None for complete mixing).

    Args:
        settings: the scenario's network section.
        size: people in the market.
        seed: integer seed of the graph (from the run's streams).
    """
    k = settings.mean_degree
    if settings.kind == "complete":
        return None
    if settings.kind == "erdos_renyi":
        return nx.fast_gnp_random_graph(size, k / max(size - 1, 1), seed=seed)
    if settings.kind == "watts_strogatz":
        return nx.watts_strogatz_graph(size, int(k), settings.rewiring, seed=seed)
    return nx.barabasi_albert_graph(size, max(int(k) // 2, 1), seed=seed)


def adjacency(graph: nx.Graph | None, size: int) -> sparse.csr_matrix | None:
    """Row-normalised sparse adjacency (each row sums to 1 over a person's ties), float32.

    People without ties get an empty row (they hear no word of mouth).
    """
    if graph is None:
        return None
    matrix = nx.to_scipy_sparse_array(graph, nodelist=range(size), dtype=np.float32, format="csr")
    degree = np.asarray(matrix.sum(axis=1)).ravel()
    scale = np.divide(1.0, degree, out=np.zeros_like(degree), where=degree > 0)
    return sparse.csr_matrix(sparse.diags(scale.astype(np.float32)) @ matrix)


def informed_share(tie_weights: sparse.csr_matrix, voice: np.ndarray) -> np.ndarray:
    """Each person's share of ties that speak for the firm, net of those against it
    (negative when detractors outweigh promoters).

    Args:
        tie_weights: row-normalised adjacency.
        voice: each person's word of mouth: +1 for a promoter, −weight for a detractor,
            expected values for customers, 0 for everyone else.
    """
    return tie_weights @ voice.astype(np.float32)
