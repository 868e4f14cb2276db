"""Filters a listing accepts (source, tag, language, date range), validated before any query is built."""

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from newsflow_kit.errors import InvalidInput

_LANGUAGE = re.compile(r"^[a-z]{2,3}$")
MAX_VALUES = 20
MAX_VALUE_LENGTH = 200
# Dates a listing may be bounded by: anything outside is a client's mistake (and would overflow).
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Filters:
    """Values of one facet are OR-ed; facets and the date range are AND-ed."""

    sources: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive (a date given as `to` is included whole)

    def key(self) -> list[Any]:
        return [self.sources, self.tags, self.languages, self.since, self.until]


def build_filters(
    *, sources: list[str], tags: list[str], languages: list[str], date_from: str | None, date_to: str | None
) -> Filters:
    """Validates raw query values into :class:`Filters`; raises 422 naming the field."""
    errors: list[dict[str, str]] = []
    for name, values in (("source", sources), ("tag", tags), ("lang", languages)):
        if len(values) > MAX_VALUES or any(not v or len(v) > MAX_VALUE_LENGTH for v in values):
            errors.append(_error(name, f"at most {MAX_VALUES} values of 1..{MAX_VALUE_LENGTH} characters"))
    langs = [v.lower() for v in languages]
    if any(not _LANGUAGE.match(v) for v in langs):
        errors.append(_error("lang", "an ISO 639 language code such as en or ru"))
    since = _parse_instant(date_from, "from", end=False, errors=errors)
    until = _parse_instant(date_to, "to", end=True, errors=errors)
    if since is not None and until is not None and since >= until:
        errors.append(_error("to", "must be after from"))
    if errors:
        raise InvalidInput("invalid value for: " + ", ".join(e["field"] for e in errors), errors=errors)
    return Filters(tuple(sources), tuple(tags), tuple(dict.fromkeys(langs)), since, until)


def _parse_instant(value: str | None, name: str, *, end: bool, errors: list[dict[str, str]]) -> datetime | None:
    """``YYYY-MM-DD`` (a whole UTC day: ``to`` includes it) or an ISO 8601 date-time (naive = UTC),
    between :data:`EARLIEST` and :data:`LATEST`."""
    if value is None or value == "":
        return None
    try:
        if len(value) == 10:
            instant = datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
        else:
            instant = datetime.fromisoformat(value)
            instant = instant if instant.tzinfo else instant.replace(tzinfo=UTC)
        if not EARLIEST <= instant < LATEST:  # before any arithmetic: 9999-12-31 + 1 day overflows
            raise ValueError("out of range")
    except (ValueError, OverflowError):
        errors.append(_error(name, "a date (YYYY-MM-DD) or an ISO 8601 date-time, from 1900 to 2199"))
        return None
    return instant + timedelta(days=1) if end and len(value) == 10 else instant


def _error(name: str, message: str) -> dict[str, str]:
    return {"field": f"query.{name}", "message": message, "type": "value_error"}
