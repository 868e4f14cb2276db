"""Original synthetic news (English and Russian) for the demo feeds and the demo publisher.

Deterministic for a given seed, so a feed slot always renders the same items.
"""

import random
from dataclasses import dataclass

EN_PLACES = ["Port Alder", "Riverton", "the Northern Coast", "Lakeside", "the Eastern District", "Granite Bay"]
EN_ACTORS = [
    "The city council",
    "A regional court",
    "The transport authority",
    "Local researchers",
    "The port operator",
    "A coalition of farmers",
    "The energy regulator",
    "Hospital staff",
]
EN_ACTIONS = [
    "approved a plan to expand",
    "paused work on",
    "published a report on",
    "announced new rules for",
    "opened an inquiry into",
    "secured funding for",
    "voted against changes to",
    "began testing",
]
EN_OBJECTS = [
    "the tram network",
    "coastal flood barriers",
    "the public library system",
    "a solar farm",
    "school meal programmes",
    "the harbour bridge",
    "water quality monitoring",
    "night bus services",
]
EN_DETAILS = [
    "Officials said the decision followed months of public hearings.",
    "Residents have asked for clearer timelines and costs.",
    "The budget for the first phase is expected to be published next month.",
    "Critics argue the proposal leaves smaller towns behind.",
    "Engineers expect the first results before the end of the season.",
    "The measure still needs approval from the regional assembly.",
    "Several community groups welcomed the announcement on Tuesday.",
    "A spokesperson said further details would follow after the review.",
]
EN_TAGS = ["transport", "climate", "energy", "city-hall", "health", "education", "economy", "science"]

RU_PLACES = ["Северогорск", "Приозёрск", "Заречный район", "Береговой округ", "Каменск"]
RU_ACTORS = [
    "Городской совет",
    "Областной суд",
    "Транспортное управление",
    "Местные исследователи",
    "Оператор порта",
    "Энергетический регулятор",
]
RU_ACTIONS = [
    "утвердил план расширения",
    "приостановил работы по",
    "опубликовал доклад о",
    "объявил новые правила для",
    "начал проверку",
    "получил финансирование для",
]
RU_OBJECTS = [
    "трамвайной сети",
    "береговых дамб",
    "городских библиотек",
    "солнечной электростанции",
    "школьного питания",
    "ночных автобусов",
]
RU_DETAILS = [
    "Чиновники сообщили, что решение приняли после публичных слушаний.",
    "Жители просят назвать точные сроки и стоимость работ.",
    "Бюджет первого этапа планируют опубликовать в следующем месяце.",
    "Критики считают, что проект не учитывает интересы малых городов.",
    "Инженеры ожидают первых результатов до конца сезона.",
    "Решение ещё должно одобрить областное собрание.",
]
RU_TAGS = ["транспорт", "климат", "энергетика", "город", "здоровье", "экономика"]


@dataclass(frozen=True)
class DemoArticle:
    slug: str
    title: str
    paragraphs: list[str]
    tags: list[str]
    author: str


def article(seed: str, language: str = "en") -> DemoArticle:
    rng = random.Random(seed)
    ru = language == "ru"
    actor, action, obj, place = (
        rng.choice(words)
        for words in (
            (RU_ACTORS, RU_ACTIONS, RU_OBJECTS, RU_PLACES) if ru else (EN_ACTORS, EN_ACTIONS, EN_OBJECTS, EN_PLACES)
        )
    )
    if ru:
        title = f"{place}: {actor.lower()} {action} {obj}"
        lead = f"{actor} в {place} {action} {obj}."
        details, tags, author = RU_DETAILS, RU_TAGS, rng.choice(["Анна Петрова", "Илья Соколов"])
    else:
        title = f"{actor} in {place} {action} {obj}"
        lead = f"{actor} in {place} {action} {obj}, according to documents released this week."
        details, tags, author = EN_DETAILS, EN_TAGS, rng.choice(["Mara Lind", "Tom Okafor", "Jia Chen"])
    paragraphs = [lead, *rng.sample(details, 3), " ".join(rng.sample(details, 2))]
    return DemoArticle(
        slug=seed.replace(":", "-"), title=title, paragraphs=paragraphs, tags=rng.sample(tags, 2), author=author
    )
