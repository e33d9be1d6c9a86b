"""Per-turn tool retrieval: with thousands of script tools the model is offered the relevant few.

The tools that are not per-script tools (the static device, ticket, alert and script tools, a few dozen)
are always offered; the rest are ranked by BM25 (``rank_bm25``) over their name and description
against the request (and the conversation's recent prompts), and the best ``limit`` are added.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Sequence

from rank_bm25 import BM25Okapi

from policies.offered import OfferedTool

_WORD = re.compile(r"[a-z0-9]+")
#: Names of per-script tools (native ``rmm-script-<slug>``, ConnectWise ``cw-rmm-script-<slug>``).
SCRIPT_TOOL = re.compile(r"^(cw-)?rmm-script-")
_STOP = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "can",
        "do",
        "for",
        "from",
        "how",
        "i",
        "in",
        "is",
        "it",
        "me",
        "my",
        "of",
        "on",
        "or",
        "please",
        "the",
        "to",
        "with",
        "you",
    ]
)
INDEX_CACHE = 16


def words(text: str) -> list[str]:
    """Lower-case word tokens without stop words; ``disk-cleanup`` gives ``disk`` and ``cleanup``."""
    return [w for w in _WORD.findall(text.lower()) if w not in _STOP]


def document(tool: OfferedTool) -> list[str]:
    """The tokens a tool is found by: its name (twice, it matters most), title and description."""
    name = words(tool.tool.name.replace("-", " "))
    return name + name + words(tool.tool.title) + words(tool.tool.description)


#: What people say -> the words scripts are described with (a request's purpose, not its wording).
PURPOSE = {
    "room": "disk cleanup free space", "space": "disk cleanup free", "clean": "cleanup", "full": "disk cleanup",
    "slow": "top processes", "hogging": "top processes", "printing": "print spooler cups", "printer": "print spooler cups",
    "print": "spooler cups", "dns": "flush dns cache", "resolve": "flush dns cache",
}  # fmt: skip


def purpose_words(request: str) -> list[str]:
    """The request's words plus the script vocabulary its purpose words stand for."""
    tokens = words(request)
    return tokens + [w for t in tokens for w in PURPOSE.get(t, "").split()]


class ToolRetriever:
    """BM25 indexes over the dynamic tools, cached per offered set."""

    def __init__(self) -> None:
        self._indexes: OrderedDict[tuple[str, ...], BM25Okapi] = OrderedDict()

    def _index(self, ranked: Sequence[OfferedTool]) -> BM25Okapi:
        key = tuple(t.tool.id for t in ranked)
        found = self._indexes.get(key)
        if found is None:
            found = BM25Okapi([document(t) or ["_"] for t in ranked])
            self._indexes[key] = found
            while len(self._indexes) > INDEX_CACHE:
                self._indexes.popitem(last=False)
        return found

    def _vocab(self, ranked: Sequence[OfferedTool], i: int) -> set[str]:
        return set(document(ranked[i]))

    def select(
        self, offered: Sequence[OfferedTool], query: str, *, limit: int, keep: Sequence[str] = ()
    ) -> list[OfferedTool]:
        """The tools to offer this turn: every static tool, the ``limit`` best dynamic ones, and ``keep`` (by name)."""
        static = [t for t in offered if not SCRIPT_TOOL.match(t.name)]
        dynamic = [t for t in offered if SCRIPT_TOOL.match(t.name)]
        chosen = {t.name for t in static} | set(keep)
        tokens = purpose_words(query)
        if dynamic and tokens:
            index = self._index(dynamic)
            scores = index.get_scores(tokens)
            wanted = set(tokens)
            # BM25's idf can go negative in a small set: a shared word, not the score's sign, says "relevant".
            relevant = [i for i in range(len(dynamic)) if wanted & self._vocab(dynamic, i)]
            best = sorted(relevant, key=lambda i: (-scores[i], dynamic[i].name))
            chosen |= {dynamic[i].name for i in best[:limit]}
        return [t for t in offered if t.name in chosen]
