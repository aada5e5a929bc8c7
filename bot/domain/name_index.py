"""A list of names prepared once for the pickers' searches, so each key typed costs less than a pass per name.

The pickers rank the same ten thousand company names on every key (`bot.domain.picker_ranking`). What does not
depend on the needle is computed once per list: the normalised names, each name's sorted set of words, which
names hold which word, and one text of every name for substring scans. Each shortlist below returns exactly
the indices the plain rapidfuzz pass over every name returns (`process.extract(..., limit=width)`: best score
first, ties in list order); `tests/domain/test_name_index.py` compares them over thousands of needles.
"""

from __future__ import annotations

import heapq
from bisect import bisect_right
from collections import OrderedDict, defaultdict
from collections.abc import Hashable, Sequence
from functools import cached_property, lru_cache
from typing import Any

from rapidfuzz import fuzz, process

from bot.domain.matching import normalise_name

normalised = lru_cache(maxsize=131_072)(normalise_name)
_MEMO_SIZE = 256  # rankings kept per list: one per picked company being matched, say


class NameIndex:
    def __init__(self, names: Sequence[str]) -> None:
        self.names = list(names)
        self.choices = [normalised(name) for name in self.names]
        self._memo: OrderedDict[Hashable, Any] = OrderedDict()

    def __len__(self) -> int:
        return len(self.choices)

    def remembered(self, key: Hashable, compute):
        """`compute()`, kept for this list (the least recently used dropped past a bound): a new list of names
        is a new index, so nothing kept outlives the names it was computed from."""
        if key in self._memo:
            self._memo.move_to_end(key)
            return self._memo[key]
        value = self._memo[key] = compute()
        if len(self._memo) > _MEMO_SIZE:
            self._memo.popitem(last=False)
        return value

    @cached_property
    def rescored(self) -> list[str]:
        """What `name_score` compares each name as (it normalises its arguments again)."""
        return [normalised(choice) for choice in self.choices]

    @cached_property
    def _sorted_words(self) -> list[str]:
        return [" ".join(sorted(set(choice.split()))) for choice in self.choices]

    @cached_property
    def _postings(self) -> dict[str, list[int]]:
        postings: dict[str, list[int]] = defaultdict(list)
        for index, choice in enumerate(self.choices):
            for word in set(choice.split()):
                postings[word].append(index)
        return dict(postings)

    @cached_property
    def _text(self) -> tuple[str, list[int]]:
        """Every name on its own line, and where each line starts (names hold no newline once normalised)."""
        starts, at = [], 0
        for choice in self.choices:
            starts.append(at)
            at += len(choice) + 1
        return "\n".join(self.choices), starts

    @cached_property
    def _by_name(self) -> dict[str, list[int]]:
        where: dict[str, list[int]] = defaultdict(list)
        for index, choice in enumerate(self.choices):
            if choice:
                where[choice].append(index)
        return dict(where)

    def holding_word(self, query: str, width: int) -> list[int]:
        """The first `width` names holding `query` as a whole word, in list order."""
        return self._postings.get(query, [])[:width]

    def holding(self, query: str, width: int) -> list[int]:
        """In list order, the first `width` names that hold `query` or are held in it."""
        text, starts = self._text
        found: list[int] = []
        at = text.find(query)
        while at >= 0 and len(found) < width:
            line = bisect_right(starts, at) - 1
            if not found or found[-1] != line:
                found.append(line)
            at = text.find(query, starts[line + 1] if line + 1 < len(starts) else len(text))
        within = {index for length in range(1, len(query) + 1) for start in range(len(query) - length + 1)
                  for index in self._by_name.get(query[start:start + length], ())}
        return sorted(within.union(found))[:width]

    def token_set_top(self, query: str, width: int) -> set[int]:
        """The `width` best names by token-set ratio. A name sharing no word with the query scores the plain
        ratio of the two sorted word lists, which rapidfuzz computes several times faster than the token-set
        ratio: only the names sharing a word are scored with the latter."""
        words = set(query.split())
        sharing = sorted({index for word in words for index in self._postings.get(word, ())})
        if not words or 2 * len(sharing) > len(self.choices):
            return _top(query, self.choices, fuzz.token_set_ratio, width)
        scored = [(score, sharing[j]) for _c, score, j in process.extract(
            query, [self.choices[i] for i in sharing], scorer=fuzz.token_set_ratio, limit=None)]
        ordered = " ".join(sorted(words))
        shared = set(sharing)
        others = (item for item in process.extract(ordered, self._sorted_words, scorer=fuzz.ratio,
                                                   limit=width + len(sharing)) if item[2] not in shared)
        for _c, ratio, index in others:
            scored.append((_as_token_set_score(ratio, len(ordered) + len(self._sorted_words[index])), index))
            if len(scored) >= width + len(sharing):
                break
        return {index for _score, index in heapq.nsmallest(width, scored, key=lambda item: (-item[0], item[1]))}

    def partial_top(self, query: str, width: int, known: set[int]) -> set[int]:
        """The `width` best names by partial ratio. When `known` holds `width` names, the width-th best of their
        scores bounds the answer from below: the pass over every name then skips what scores under it."""
        if len(known) < width:
            return _top(query, self.choices, fuzz.partial_ratio, width)
        sample = sorted(known)
        floor = sorted((score for _c, score, _j in process.extract(
            query, [self.choices[i] for i in sample], scorer=fuzz.partial_ratio, limit=None)), reverse=True)[width - 1]
        return _top(query, self.choices, fuzz.partial_ratio, width, score_cutoff=max(0.0, floor - 0.5))


def _top(query: str, choices: list[str], scorer, width: int, **cutoff: float) -> set[int]:
    return {index for _c, _s, index in process.extract(query, choices, scorer=scorer, limit=width, **cutoff)}


def _as_token_set_score(ratio: float, lensum: int) -> float:
    """rapidfuzz's ratio is 100 * (1 - d / n), its token-set ratio 100 - 100 * d / n: the same number to the last
    bit or so, but ties between the two kinds of score must stay ties."""
    distance = round((100.0 - ratio) * lensum / 100.0)
    return 100.0 - 100.0 * distance / lensum if lensum else 100.0
