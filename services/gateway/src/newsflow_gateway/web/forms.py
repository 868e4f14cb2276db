"""The comment form: read as plain ``application/x-www-form-urlencoded`` and checked with the API's model.

Parsed with the standard library (the form has three short fields, so no multipart parser is needed).
"""

from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

from fastapi import Request
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from newsflow_gateway.schemas import CommentCreate
from newsflow_kit.errors import Forbidden, InvalidInput

FORM_TYPE = "application/x-www-form-urlencoded"
FIELDS = ("author_name", "body", "parent_id")
# Messages written for people, by field and by what is wrong.
MISSING = {"author_name": "Please write your name.", "body": "Please write a comment."}
TOO_LONG = {
    "author_name": "Please keep your name under 80 characters.",
    "body": "Please keep your comment under 10,000 characters.",
}
BAD_PARENT = "The comment you are replying to could not be found; please reload the page and try again."


@dataclass
class CommentForm:
    """What the reader typed (to fill the form again) and, when valid, the comment to post."""

    values: dict[str, str]
    comment: CommentCreate | None = None
    errors: list[str] = field(default_factory=list)


def check_same_origin(request: Request) -> None:
    """Refuses a form posted from another site, so no page elsewhere can comment in a reader's name.

    Browsers say where a request comes from in ``Sec-Fetch-Site`` (or at least ``Origin``); clients
    that send neither (curl, old browsers) are let through: they carry no reader's ambient identity.
    """
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        if site not in ("same-origin", "none"):
            raise Forbidden("comments can only be posted from this site's own pages")
        return
    origin = request.headers.get("origin")
    if origin is not None and urlsplit(origin).netloc != request.url.netloc:
        raise Forbidden("comments can only be posted from this site's own pages")


async def read_comment_form(request: Request) -> CommentForm:
    """The posted form, validated; field errors are returned (to show next to the form), not raised."""
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != FORM_TYPE:
        raise InvalidInput(f"the comment form must be sent as {FORM_TYPE}", errors=[{"field": "content-type"}])
    try:
        fields = parse_qs((await request.body()).decode(), keep_blank_values=True, max_num_fields=len(FIELDS) + 2)
    except (UnicodeDecodeError, ValueError):
        raise InvalidInput("the comment form could not be read") from None
    values = {name: fields.get(name, [""])[0] for name in FIELDS}
    try:
        comment = CommentCreate(
            author_name=values["author_name"].strip(),
            body=values["body"].strip(),
            parent_id=values["parent_id"] or None,
        )
    except ValidationError as exc:
        return CommentForm(values=values, errors=[_message(err) for err in exc.errors()])
    return CommentForm(values=values, comment=comment)


def _message(error: ErrorDetails) -> str:
    name = str(error["loc"][0]) if error["loc"] else ""
    if name == "parent_id":
        return BAD_PARENT
    if error["type"] == "string_too_long":
        return TOO_LONG.get(name, "Please shorten what you wrote.")
    return MISSING.get(name, "Please check the form and try again.")
