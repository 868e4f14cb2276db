"""JSON that stays inert when a page inlines it: ``<``, ``>``, ``&`` and line separators as escapes.

The decoded text is unchanged (comments are plain text, escaped by whoever renders them), but the
bytes on the wire can never close a ``<script>`` element or open a tag.
"""

import json
from typing import Any

from fastapi.responses import JSONResponse

_INERT = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"})


class InertJSONResponse(JSONResponse):
    def render(self, content: Any) -> bytes:
        text = json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        return text.translate(_INERT).encode()
