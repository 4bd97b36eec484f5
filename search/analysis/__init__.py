"""Vietnamese text analysis, shared by the indexer and the query side.

Four chains, each a Whoosh chain of small steps::

    ExactAnalyzer()        = NfcTokenizer() | LowercaseFilter() | VietNormalizeFilter()
    FoldedAnalyzer()       = ExactAnalyzer() | VietFoldFilter()
    ExactBigramAnalyzer()  = ExactAnalyzer() | BigramFilter()
    FoldedBigramAnalyzer() = FoldedAnalyzer() | BigramFilter()

"Exact" keeps the accents (one canonical tone placement), "folded" drops them and maps đ to d,
"bigram" emits adjacent syllable pairs ("hàng_không") so that multi-syllable words can be
rewarded without a dictionary.

Whoosh pickles the schema, analyzers included, into the index's table of contents, so the
path a class is pickled under is an on-disk format. Every index names them as
`search.analysis.<Class>`: the classes live in submodules but are re-exported here and
pickled under this package's name, so an index written before the package split opens, and
moving a class between submodules never breaks one.
"""

from search.analysis.filters import BigramFilter, VietFoldFilter, VietNormalizeFilter
from search.analysis.tokenizer import NfcTokenizer

PICKLED_CLASSES = (NfcTokenizer, VietNormalizeFilter, VietFoldFilter, BigramFilter)
for _cls in PICKLED_CLASSES:
    _cls.__module__ = __name__

__all__ = ["BigramFilter", "NfcTokenizer", "VietFoldFilter", "VietNormalizeFilter"]
