"""Relative times as readers say them ("just now", "9 minutes ago", "yesterday"), in English or Russian.

The page's script (``static/site.js``) applies the same thresholds with ``Intl.RelativeTimeFormat``
so the text stays current without a reload; the server's text is what a reader without JavaScript sees.
"""

from datetime import UTC, datetime

JUST_NOW_S = 45
RELATIVE_DAYS = 7  # older than this: the date itself
EN_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
RU_MONTHS = ("янв.", "февр.", "мар.", "апр.", "мая", "июн.", "июл.", "авг.", "сент.", "окт.", "нояб.", "дек.")
# Russian plural forms: one (1, 21, 31…), few (2-4, 22-24…), many (5-20, 25-30…, 11-14).
RU_UNITS = {
    "minute": ("минуту", "минуты", "минут"),
    "hour": ("час", "часа", "часов"),
    "day": ("день", "дня", "дней"),
}


def language_of(code: str | None) -> str:
    """The language the time is written in: Russian for ``ru``, English otherwise."""
    return "ru" if (code or "").lower().startswith("ru") else "en"


def _ru_plural(n: int, forms: tuple[str, str, str]) -> str:
    if n % 10 == 1 and n % 100 != 11:
        return forms[0]
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return forms[1]
    return forms[2]


def _ago(n: int, unit: str, lang: str) -> str:
    if lang == "ru":
        return f"{n} {_ru_plural(n, RU_UNITS[unit])} назад"
    return f"{n} {unit}{'' if n == 1 else 's'} ago"


def relative(value: datetime, *, now: datetime | None = None, language: str | None = "en") -> str:
    """``value`` relative to ``now``: just now, N minutes/hours ago, yesterday, N days ago, then the date."""
    lang = language_of(language)
    now = now or datetime.now(UTC)
    seconds = (now - value).total_seconds()
    if seconds < JUST_NOW_S:  # also a time slightly in the future (clock skew)
        return "только что" if lang == "ru" else "just now"
    minutes = max(1, round(seconds / 60))
    if minutes < 60:
        return _ago(minutes, "minute", lang)
    hours = round(seconds / 3600)
    if hours < 24:
        return _ago(hours, "hour", lang)
    days = round(seconds / 86400)
    if days <= 1:
        return "вчера" if lang == "ru" else "yesterday"
    if days < RELATIVE_DAYS:
        return _ago(days, "day", lang)
    return absolute_date(value, language=lang)


def absolute_date(value: datetime, *, language: str | None = "en") -> str:
    """A date as ``29 Nov 2026`` (``29 нояб. 2026 г.``)."""
    day = value.astimezone(UTC)
    if language_of(language) == "ru":
        return f"{day.day} {RU_MONTHS[day.month - 1]} {day.year} г."
    return f"{day.day} {EN_MONTHS[day.month - 1]} {day.year}"


def exact(value: datetime) -> str:
    """The exact time for a tooltip: ``2026-11-29 14:03 UTC``."""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
