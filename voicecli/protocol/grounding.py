"""Reading Google Search grounding metadata (§4.2 ``groundingMetadata``) for display.

What: the web sources (``groundingChunks[].web`` ``uri`` and ``title``) and the search queries
(``webSearchQueries``) of the opaque metadata, and `TurnSources`, which numbers the sources of
one reply across the several serverContent messages that may carry metadata. Why: every command
shows the same numbered list under the reply (talk, ask, batch results). Keys are read in
camelCase or snake_case (§2: both travel); anything malformed is skipped, never an error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Source:
    title: str
    uri: str

    def to_json(self) -> dict[str, str]:
        return {"title": self.title, "uri": self.uri}


def _get(obj: Any, camel: str, snake: str) -> Any:
    if not isinstance(obj, dict):
        return None
    return obj.get(camel, obj.get(snake))


def web_sources(metadata: dict[str, Any]) -> list[Source]:
    """The ``web`` grounding chunks, in order (chunks of other kinds are left out)."""
    found: list[Source] = []
    chunks = _get(metadata, "groundingChunks", "grounding_chunks")
    for chunk in chunks if isinstance(chunks, list) else []:
        web = _get(chunk, "web", "web")
        uri = _get(web, "uri", "uri")
        if isinstance(uri, str) and uri:
            title = _get(web, "title", "title")
            found.append(Source(title if isinstance(title, str) and title else uri, uri))
    return found


def search_queries(metadata: dict[str, Any]) -> list[str]:
    queries = _get(metadata, "webSearchQueries", "web_search_queries") or []
    return [q for q in queries if isinstance(q, str)] if isinstance(queries, list) else []


@dataclass
class TurnSources:
    """The numbered sources and the queries of one reply; a source is listed once."""

    sources: list[Source] = field(default_factory=list)
    queries: list[str] = field(default_factory=list)

    def add(self, metadata: dict[str, Any]) -> None:
        for source in web_sources(metadata):
            if all(known.uri != source.uri for known in self.sources):
                self.sources.append(source)
        for query in search_queries(metadata):
            if query not in self.queries:
                self.queries.append(query)

    def lines(self) -> list[str]:
        """``[1] Title — https://…``, one per source."""
        return [f"[{n}] {s.title} — {s.uri}" for n, s in enumerate(self.sources, start=1)]

    def __bool__(self) -> bool:
        return bool(self.sources or self.queries)
