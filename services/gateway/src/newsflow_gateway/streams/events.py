"""Events as subscribers receive them, serialised once per event and shared by every subscriber."""

import json
from typing import Any

from newsflow_contracts import ArticleData, ArticleStatus, CommentData, CommentStatus
from newsflow_gateway.streams.filters import ArticleText
from newsflow_kit.protocol import chunk_frame

# Streams carry the article without its body (clients fetch /v1/articles/{id} for it): one event
# stays small however many subscribers it is copied to.
_ARTICLE_OMITS = {"body_html", "body_text"}


class StreamEvent:
    """One event: SSE ``event`` name, optional ``id`` and JSON ``data``; ``sse`` is the wire frame."""

    __slots__ = ("_frame", "data", "id", "name", "sse")

    def __init__(self, name: str, data: Any, id: str | None = None) -> None:
        self.name, self.id = name, id
        self.data = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
        head = f"id: {id}\n" if id is not None else ""
        self.sse = f"{head}event: {name}\ndata: {self.data}\n\n".encode()
        self._frame: bytes | None = None

    @property
    def frame(self) -> bytes:
        """``sse`` as one HTTP chunk, framed once for every subscriber it is written to."""
        if self._frame is None:
            self._frame = chunk_frame(self.sse)
        return self._frame

    def ws(self, subscription: str) -> str:
        """The WebSocket message of this event for one subscription."""
        head = json.dumps({"type": "event", "subscription": subscription, "event": self.name, "id": self.id})
        return head[:-1] + f',"data":{self.data}}}'


class ArticleEvent(StreamEvent):
    __slots__ = ("_text", "article", "seq")

    def __init__(self, name: str, article: ArticleData) -> None:
        super().__init__(name, article.model_dump(mode="json", exclude=_ARTICLE_OMITS), id=str(article.seq))
        self.article, self.seq = article, article.seq
        self._text: ArticleText | None = None

    @property
    def text(self) -> ArticleText:
        if self._text is None:
            self._text = ArticleText(self.article)
        return self._text

    @classmethod
    def replayed(cls, article: ArticleData) -> "ArticleEvent":
        """An event for a change read back from ingest, named as the live event was."""
        if article.status is ArticleStatus.RETRACTED:
            return cls("article.retracted", article)
        return cls("article.published" if article.version == 1 else "article.updated", article)


class CommentEvent(StreamEvent):
    __slots__ = ("article_id",)

    def __init__(self, name: str, comment: CommentData) -> None:
        # Only visible comments travel whole: a pending or removed one must not leak its text.
        if comment.status is CommentStatus.VISIBLE:
            data: dict[str, Any] = comment.model_dump(mode="json")
        else:
            data = {"id": comment.id, "article_id": comment.article_id, "status": comment.status.value}
        super().__init__(name, data)
        self.article_id = comment.article_id


def control(name: str, **data: Any) -> StreamEvent:
    """A message from the gateway itself (``reset``, ``overflow``)."""
    return StreamEvent(name, data)


class Reply(StreamEvent):
    """A WebSocket protocol message (``subscribed``, ``error``...), sent as it is."""

    __slots__ = ()

    def __init__(self, message: dict[str, Any]) -> None:
        super().__init__(str(message["type"]), message)

    def ws(self, subscription: str) -> str:
        return self.data
