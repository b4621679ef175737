"""`declutr demo` (`make demo`): train DeCLUTR on real news articles and embed unseen ones,
offline, on CPUs. `corpus` builds the BBC News corpus; `run` runs and prints every step."""

from declutr.demo.corpus import Corpus, build_corpus, read_bbc, read_heldout
from declutr.demo.run import main, nearest_neighbours, run_demo

__all__ = [
    "Corpus",
    "build_corpus",
    "main",
    "nearest_neighbours",
    "read_bbc",
    "read_heldout",
    "run_demo",
]
