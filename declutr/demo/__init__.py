"""`declutr demo` (`make demo`): train DeCLUTR on real news articles and embed unseen ones,
offline, on CPUs. `corpus` builds the BBC News corpus; `run` runs and prints every step."""

from declutr.lazy import lazy_attributes

__getattr__ = lazy_attributes(
    __name__,
    {
        "Corpus": "declutr.demo.corpus",
        "build_corpus": "declutr.demo.corpus",
        "read_bbc": "declutr.demo.corpus",
        "read_heldout": "declutr.demo.corpus",
        "nearest_neighbours": "declutr.demo.run",
        "run_demo": "declutr.demo.run",
    },
)
__all__ = ["Corpus", "build_corpus", "nearest_neighbours", "read_bbc", "read_heldout", "run_demo"]
