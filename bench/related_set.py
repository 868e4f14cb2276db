"""The labelled evaluation set of the AI features: news stories in English and Russian, with distractors.

Deterministic (seeded), generated in code so it can be read and reviewed: 8 kinds of event × 8 stories
= 64 stories, each covered by 3 English and 2 Russian articles from different (fictional) sources with
their own wording, plus 2 single-article *distractors* per kind (same kind of event, other place,
people and details) — 336 articles. Stories of one kind share their vocabulary ("earthquake",
"magnitude", "rescuers"), so a method has to match the *event* (place, people, specifics), not the
topic. Each story has a reference lead written in English and Russian (for ROUGE of summaries).

``python -m bench.related_set`` prints a summary of the set; bench_related and the tests import it.
"""

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

SEED = 20261129
STORIES_PER_KIND = 8
DISTRACTORS_PER_KIND = 2
BASE_TIME = datetime(2026, 11, 1, 6, 0, tzinfo=UTC)

EN_SOURCES = [
    ("ledger", "The Daily Ledger"),
    ("metro", "Metro Wire"),
    ("courier", "Global Courier"),
    ("post", "Harbour Post"),
]
RU_SOURCES = [("vesti-dnya", "Вести дня"), ("kurier", "Северный курьер"), ("lenta-sever", "Лента Север")]

CITIES = [
    ("Izmir", "Измир"), ("Porto", "Порту"), ("Valencia", "Валенсия"), ("Lyon", "Лион"), ("Gdansk", "Гданьск"),
    ("Brno", "Брно"), ("Tampere", "Тампере"), ("Bergen", "Берген"), ("Graz", "Грац"), ("Seville", "Севилья"),
    ("Naples", "Неаполь"), ("Leipzig", "Лейпциг"), ("Cluj", "Клуж"), ("Varna", "Варна"), ("Malmo", "Мальмё"),
    ("Aarhus", "Орхус"), ("Split", "Сплит"), ("Riga", "Рига"), ("Tartu", "Тарту"), ("Kaunas", "Каунас"),
    ("Osaka", "Осака"), ("Busan", "Пусан"), ("Recife", "Ресифи"), ("Cordoba", "Кордова"), ("Perth", "Перт"),
    ("Halifax", "Галифакс"), ("Denver", "Денвер"), ("Tucson", "Тусон"), ("Mombasa", "Момбаса"), ("Cebu", "Себу"),
    ("Antalya", "Анталья"), ("Batumi", "Батуми"), ("Almaty", "Алматы"), ("Kazan", "Казань"), ("Tbilisi", "Тбилиси"),
    ("Yerevan", "Ереван"), ("Bilbao", "Бильбао"), ("Turin", "Турин"), ("Nantes", "Нант"), ("Odense", "Оденсе"),
]  # fmt: skip
PEOPLE = [
    ("Maria Lindqvist", "Мария Линдквист"), ("Tomas Novak", "Томаш Новак"), ("Elena Ruiz", "Елена Руис"),
    ("David Okafor", "Давид Окафор"), ("Anna Kowalska", "Анна Ковальская"), ("Henrik Dahl", "Хенрик Даль"),
    ("Sofia Marino", "София Марино"), ("Lukas Brenner", "Лукас Бреннер"), ("Ines Duarte", "Инес Дуарте"),
    ("Pavel Horak", "Павел Горак"), ("Kenji Mori", "Кэндзи Мори"), ("Laura Becker", "Лаура Беккер"),
    ("Omar Haddad", "Омар Хаддад"), ("Clara Moreau", "Клара Моро"), ("Viktor Sandberg", "Виктор Сандберг"),
    ("Nadia Petrova", "Надя Петрова"), ("Jonas Weber", "Йонас Вебер"), ("Marta Silva", "Марта Силва"),
]  # fmt: skip
COMPANIES = [
    "Norvik Systems", "Altera Foods", "Brightwave Energy", "Castell Motors", "Delmar Pharma", "Eastport Logistics",
    "Fjord Mobile", "Granite Bank", "Helix Robotics", "Ironleaf Steel", "Juniper Air", "Kestrel Media",
    "Lumen Grid", "Meridian Retail", "Northgate Telecom", "Orbis Chemicals", "Pinecrest Foods", "Quanta Chips",
]  # fmt: skip


@dataclass(frozen=True)
class Kind:
    """One kind of event: titles and fact sentences with paraphrases per language, and story details."""

    name: str
    tags: list[str]
    titles_en: list[str]
    titles_ru: list[str]
    facts_en: list[list[str]]  # facts in the order a lead would give them; each with paraphrases
    facts_ru: list[list[str]]
    details: list[tuple[str, str]]  # what makes each story unique: (English clause, Russian clause)
    lead_en: str
    lead_ru: str
    number: tuple[int, int]


KINDS = [
    Kind(
        name="earthquake",
        tags=["earthquake", "disaster"],
        titles_en=[
            "Magnitude {n10} earthquake strikes {city}",
            "Strong quake shakes {city}, {detail}",
            "{city} earthquake: rescuers search the rubble",
        ],
        titles_ru=[
            "Землетрясение магнитудой {n10} произошло в городе {city}",
            "Сильные подземные толчки в городе {city}",
        ],
        facts_en=[
            [
                "An earthquake of magnitude {n10} struck {city} early on Tuesday, {detail}.",
                "A magnitude {n10} quake hit the {city} area before dawn on Tuesday, {detail}.",
                "{city} was shaken by a {n10}-magnitude earthquake on Tuesday morning, {detail}.",
            ],
            [
                "Mayor {person} said at least {n} people were injured and several buildings were evacuated.",
                "At least {n} people were hurt, according to mayor {person}, who ordered schools closed.",
                "Local officials led by mayor {person} put the number of injured at {n}.",
            ],
            [
                "Seismologists recorded more than a dozen aftershocks in the following hours.",
                "Dozens of aftershocks followed, the national seismic institute said.",
            ],
            [
                "Rail services around {city} were suspended while engineers inspected bridges.",
                "Trains to and from {city} stopped as crews checked tracks and bridges.",
            ],
        ],
        facts_ru=[
            [
                "Во вторник рано утром в городе {city} произошло землетрясение магнитудой {n10}, {detail}.",
                "Землетрясение магнитудой {n10} ощущалось во вторник утром в городе {city}, {detail}.",
            ],
            [
                "По словам мэра {person}, пострадали не менее {n} человек, несколько зданий эвакуированы.",
                "Мэр {person} сообщил, что число пострадавших достигло {n}, школы закрыты.",
            ],
            [
                "Сейсмологи зафиксировали более десятка повторных толчков.",
                "За первые часы было зарегистрировано несколько десятков афтершоков.",
            ],
            ["Движение поездов в районе города {city} приостановлено до проверки мостов."],
        ],
        details=[
            ("collapsing the roof of the central railway station", "обрушив крышу центрального вокзала"),
            ("damaging the old harbour wall", "повредив старую стену гавани"),
            ("cracking the dam above the valley", "вызвав трещины в плотине над долиной"),
            ("bringing down the bell tower of the cathedral", "разрушив колокольню собора"),
            ("cutting power to the northern districts", "оставив без света северные районы"),
            ("setting off a landslide on the coastal road", "вызвав оползень на прибрежной дороге"),
            ("damaging the university library", "повредив здание университетской библиотеки"),
            ("cutting the main water pipeline", "повредив главный водопровод"),
            ("shattering windows at the airport terminal", "выбив стёкла в терминале аэропорта"),
            ("toppling a crane at the shipyard", "опрокинув кран на верфи"),
        ],
        lead_en="A magnitude {n10} earthquake struck {city} on Tuesday, {detail}; at least {n} people were injured.",
        lead_ru="Во вторник в городе {city} произошло землетрясение магнитудой {n10}, {detail}; пострадали не менее {n} человек.",  # noqa: E501
        number=(5, 60),
    ),
    Kind(
        name="rates",
        tags=["economy", "central-bank"],
        titles_en=[
            "{country} central bank raises rates to {n10}%",
            "Rate rise in {country}: governor {person} acts on inflation",
            "{country} lifts borrowing costs, {detail}",
        ],
        titles_ru=[
            "Центробанк страны {country} повысил ставку до {n10}%",
            "{country}: регулятор поднял ключевую ставку",
        ],
        facts_en=[
            [
                "The central bank of {country} raised its key interest rate to {n10}% on Thursday, {detail}.",
                "{country}'s central bank lifted its benchmark rate to {n10}% on Thursday, {detail}.",
                "Policymakers in {country} increased the main rate to {n10}% on Thursday, {detail}.",
            ],
            [
                "Governor {person} said inflation of {n}% a year was too high to wait.",
                "With prices rising {n}% a year, governor {person} said there was no room for patience.",
                "Governor {person} pointed to annual inflation of {n}% as the reason for the move.",
            ],
            [
                "Most economists had expected a smaller increase.",
                "Analysts polled before the meeting had forecast a more cautious step.",
            ],
            [
                "The national currency strengthened after the announcement.",
                "The currency gained against the euro within minutes of the decision.",
            ],
        ],
        facts_ru=[
            [
                "В четверг центральный банк страны {country} повысил ключевую ставку до {n10}%, {detail}.",
                "Регулятор страны {country} в четверг поднял базовую ставку до {n10}%, {detail}.",
            ],
            [
                "Глава банка {person} заявил, что инфляция в {n}% годовых слишком высока.",
                "По словам главы банка {person}, годовая инфляция {n}% требует решительных мер.",
            ],
            ["Большинство экономистов ожидали менее резкого повышения."],
            ["После объявления национальная валюта укрепилась."],
        ],
        details=[
            ("its third increase this year", "это уже третье повышение в этом году"),
            ("the biggest step since the banking crisis", "это самый резкий шаг со времён банковского кризиса"),
            ("ending two years of unchanged policy", "завершив два года неизменной политики"),
            ("citing a surge in rents", "сославшись на резкий рост арендной платы"),
            ("after a split vote of the board", "после голосования, разделившего совет"),
            ("citing the fall of the currency", "сославшись на падение национальной валюты"),
            ("defying pressure from the finance ministry", "вопреки давлению министерства финансов"),
            ("and signalled more increases", "и дал понять, что повышения продолжатся"),
            ("citing fuel prices", "сославшись на цены на топливо"),
            ("in an unscheduled meeting", "на внеочередном заседании"),
        ],
        lead_en="The central bank of {country} raised its key rate to {n10}%, {detail}, as inflation reached {n}%.",
        lead_ru="Центробанк страны {country} повысил ключевую ставку до {n10}%, {detail}; инфляция достигла {n}%.",
        number=(6, 19),
    ),
    Kind(
        name="election",
        tags=["politics", "elections"],
        titles_en=[
            "{person} wins mayoral election in {city}",
            "{city} elects {person} as mayor",
            "Upset in {city}: {person} takes the mayor's office",
        ],
        titles_ru=[
            "{person} победил на выборах мэра в городе {city}",
            "Выборы в городе {city}: новым мэром стал {person}",
        ],
        facts_en=[
            [
                "{person} won the mayoral election in {city} on Sunday with {n}% of the vote, {detail}.",
                "Voters in {city} chose {person} as mayor on Sunday, giving the candidate {n}% of the vote, {detail}.",
                "With {n}% of the ballots, {person} was elected mayor of {city} on Sunday, {detail}.",
            ],
            [
                "Turnout was the highest in two decades.",
                "Officials said turnout beat every election of the past twenty years.",
            ],
            [
                "The new mayor promised free public transport for pupils and a review of the city budget.",
                "{person} pledged free buses for schoolchildren and an audit of city finances.",
            ],
            [
                "The outgoing mayor conceded defeat late in the evening.",
                "The incumbent admitted defeat shortly before midnight.",
            ],
        ],
        facts_ru=[
            [
                "В воскресенье {person} победил на выборах мэра в городе {city}, набрав {n}% голосов, {detail}.",
                "На выборах мэра в городе {city} в воскресенье победу одержал {person} с результатом {n}%, {detail}.",
            ],
            ["Явка стала самой высокой за двадцать лет."],
            ["Новый мэр пообещал бесплатный проезд для школьников и проверку городского бюджета."],
            ["Действующий мэр признал поражение поздно вечером."],
        ],
        details=[
            ("ending thirty years of rule by one party", "положив конец тридцатилетнему правлению одной партии"),
            ("after a campaign about housing", "после кампании, посвящённой жилью"),
            ("as the first independent candidate to win", "став первым независимым кандидатом-победителем"),
            ("after a recount in two districts", "после пересчёта голосов в двух округах"),
            ("despite a late scandal over campaign funds", "несмотря на скандал с финансированием кампании"),
            ("after promising to close the coal plant", "пообещав закрыть угольную электростанцию"),
            ("as the youngest mayor in the city's history", "став самым молодым мэром в истории города"),
            ("in a run-off against the former police chief", "во втором туре против бывшего начальника полиции"),
            ("on a platform of cheaper water bills", "с программой снижения тарифов на воду"),
            (
                "after the previous mayor resigned over a bribery case",
                "после отставки прежнего мэра из-за дела о взятке",
            ),
        ],
        lead_en="{person} won the mayoral election in {city} with {n}% of the vote, {detail}.",
        lead_ru="{person} победил на выборах мэра в городе {city}, набрав {n}% голосов, {detail}.",
        number=(41, 68),
    ),
    Kind(
        name="acquisition",
        tags=["business", "deals"],
        titles_en=[
            "{org} agrees to buy {org2} for ${n} billion",
            "{org} to acquire {org2} in ${n}bn deal",
            "{org2} accepts ${n} billion takeover by {org}",
        ],
        titles_ru=["{org} покупает {org2} за {n} млрд долларов", "{org} договорилась о поглощении {org2}"],
        facts_en=[
            [
                "{org} agreed on Monday to buy {org2} for ${n} billion in cash, {detail}.",
                "{org} said on Monday it would acquire {org2} for ${n} billion, {detail}.",
                "In a ${n} billion deal announced on Monday, {org} will take over {org2}, {detail}.",
            ],
            [
                "Chief executive {person} said the combined company would keep its headquarters in {city}.",
                "The merged group will stay in {city}, chief executive {person} told analysts.",
                "{person}, the chief executive, promised that {city} would remain the head office.",
            ],
            [
                "Shares of {org2} jumped more than 20% in early trading.",
                "{org2} stock soared by over a fifth after the announcement.",
            ],
            ["The deal still needs approval from competition regulators.", "Regulators must still clear the takeover."],
        ],
        facts_ru=[
            [
                "В понедельник компания {org} договорилась купить {org2} за {n} млрд долларов, {detail}.",
                "{org} объявила в понедельник о покупке {org2} за {n} млрд долларов, {detail}.",
            ],
            ["Гендиректор {person} сообщил, что штаб-квартира объединённой компании останется в городе {city}."],
            ["Акции {org2} подскочили более чем на 20%."],
            ["Сделку ещё должны одобрить антимонопольные органы."],
        ],
        details=[
            ("its largest purchase ever", "это крупнейшая покупка в её истории"),
            ("to expand into battery storage", "чтобы выйти на рынок накопителей энергии"),
            ("ending a bidding war with a rival", "завершив борьбу с конкурентом за актив"),
            ("after months of talks", "после нескольких месяцев переговоров"),
            ("to gain access to Asian markets", "чтобы получить доступ к азиатским рынкам"),
            ("in a deal backed by a sovereign fund", "при поддержке суверенного фонда"),
            ("to build a rival to the market leader", "чтобы бросить вызов лидеру рынка"),
            ("paying a premium of 40 percent", "заплатив премию в 40 процентов"),
            ("to secure supplies of chips", "чтобы обеспечить себе поставки чипов"),
            ("after activist investors pushed for a sale", "после давления инвесторов-активистов"),
        ],
        lead_en="{org} agreed to buy {org2} for ${n} billion, {detail}.",
        lead_ru="{org} договорилась купить {org2} за {n} млрд долларов, {detail}.",
        number=(2, 48),
    ),
    Kind(
        name="strike",
        tags=["labour", "transport"],
        titles_en=[
            "Transport strike paralyses {city}",
            "{city} workers walk out, {detail}",
            "No buses or trams in {city} as unions strike",
        ],
        titles_ru=[
            "Забастовка транспортников парализовала город {city}",
            "В городе {city} остановился общественный транспорт",
        ],
        facts_en=[
            [
                "Bus and tram drivers in {city} began a {n}-day strike on Wednesday, {detail}.",
                "Public transport in {city} stopped on Wednesday as drivers started a {n}-day walkout, {detail}.",
                "A {n}-day strike by transport workers brought {city} to a standstill on Wednesday, {detail}.",
            ],
            [
                "Union leader {person} said drivers wanted a pay rise matching inflation.",
                "{person}, who leads the drivers' union, demanded wages that keep pace with prices.",
                "The union, led by {person}, is asking for an inflation-linked pay increase.",
            ],
            [
                "Traffic jams stretched for kilometres on the ring road.",
                "Commuters faced long queues of cars on the ring road.",
            ],
            [
                "City hall called the strike unlawful and said it would go to court.",
                "The city administration said it would ask a court to stop the strike.",
            ],
        ],
        facts_ru=[
            [
                "В среду водители автобусов и трамваев в городе {city} начали {n}-дневную забастовку, {detail}.",
                "Общественный транспорт в городе {city} в среду остановился: водители объявили забастовку на {n} дней, {detail}.",  # noqa: E501
            ],
            ["Лидер профсоюза {person} требует повышения зарплат вслед за инфляцией."],
            ["На кольцевой дороге образовались многокилометровые пробки."],
            ["Мэрия назвала забастовку незаконной и пообещала обратиться в суд."],
        ],
        details=[
            ("the first in forty years", "первую за сорок лет"),
            ("joined by metro staff", "к которой присоединились работники метро"),
            ("during a major trade fair", "во время крупной торговой выставки"),
            ("after talks collapsed overnight", "после того как переговоры сорвались ночью"),
            ("on the first day of the school term", "в первый день учебной четверти"),
            ("as snow fell across the region", "в разгар снегопада"),
            ("backed by airport ground crews", "которую поддержали наземные службы аэропорта"),
            ("after a driver was assaulted", "после нападения на водителя"),
            ("over new night-shift rules", "из-за новых правил ночных смен"),
            ("before a football derby", "накануне футбольного дерби"),
        ],
        lead_en="Bus and tram drivers in {city} began a {n}-day strike, {detail}, demanding inflation-linked pay.",
        lead_ru="Водители автобусов и трамваев в городе {city} начали {n}-дневную забастовку, {detail}.",
        number=(2, 9),
    ),
    Kind(
        name="wildfire",
        tags=["wildfire", "climate"],
        titles_en=[
            "Wildfire near {city} forces {n} hundred to flee",
            "{city} wildfire spreads, {detail}",
            "Firefighters battle blaze outside {city}",
        ],
        titles_ru=[
            "Лесной пожар у города {city}: эвакуированы сотни жителей",
            "Под городом {city} бушует лесной пожар",
        ],
        facts_en=[
            [
                "A wildfire near {city} forced about {n} hundred residents to leave their homes on Saturday, {detail}.",
                "Around {n} hundred people fled their homes near {city} on Saturday as a wildfire spread, {detail}.",
                "Several hundred residents, about {n} hundred in all, were evacuated near {city} on Saturday, {detail}.",  # noqa: E501
            ],
            [
                "Fire chief {person} said strong winds were pushing the flames toward the hills.",
                "Gusty winds drove the fire uphill, fire chief {person} said.",
                "According to fire chief {person}, the wind made the blaze hard to contain.",
            ],
            [
                "Water-bombing aircraft were sent from neighbouring regions.",
                "Planes and helicopters from other regions joined the effort.",
            ],
            ["No deaths have been reported.", "Officials said nobody had been killed."],
        ],
        facts_ru=[
            [
                "В субботу из-за лесного пожара у города {city} около {n} сотен жителей покинули дома, {detail}.",
                "Лесной пожар под городом {city} в субботу вынудил эвакуировать около {n} сотен человек, {detail}.",
            ],
            ["Начальник пожарной службы {person} сообщил, что сильный ветер гонит огонь к холмам."],
            ["На помощь направлены самолёты-амфибии из соседних регионов."],
            ["О погибших не сообщается."],
        ],
        details=[
            ("closing the motorway to the coast", "перекрыв автостраду к побережью"),
            ("threatening a nature reserve", "угрожая заповеднику"),
            ("after a lightning strike", "после удара молнии"),
            ("burning a vineyard district", "уничтожив виноградники"),
            ("reaching the edge of a campsite", "подойдя к кемпингу"),
            ("in the driest autumn on record", "в самую засушливую осень за всю историю наблюдений"),
            ("cutting a power line", "повредив линию электропередачи"),
            ("forcing a hospital to evacuate", "из-за чего эвакуировали больницу"),
            ("sending smoke over the airport", "затянув дымом аэропорт"),
            ("near an ammunition depot", "вблизи склада боеприпасов"),
        ],
        lead_en="A wildfire near {city} forced about {n} hundred residents to flee, {detail}.",
        lead_ru="Лесной пожар у города {city} вынудил около {n} сотен жителей покинуть дома, {detail}.",
        number=(2, 19),
    ),
    Kind(
        name="final",
        tags=["sport", "football"],
        titles_en=[
            "FC {city} win the cup final {n}-1",
            "Cup glory for {city} after {detail}",
            "{city} lift the trophy, {person} the hero",
        ],
        titles_ru=["Футбольный клуб «{city}» выиграл финал кубка со счётом {n}:1", "«{city}» завоевал кубок страны"],
        facts_en=[
            [
                "FC {city} won the national cup final {n}-1 on Saturday night, {detail}.",
                "FC {city} beat their rivals {n}-1 in the cup final on Saturday, {detail}.",
                "A {n}-1 win on Saturday gave FC {city} the national cup, {detail}.",
            ],
            [
                "Striker {person} scored twice and was named player of the match.",
                "{person} struck two goals and took the player-of-the-match award.",
                "Two goals from {person} decided the final.",
            ],
            ["It is the club's first trophy in eleven years.", "The club had waited eleven years for a trophy."],
            [
                "Thousands of fans celebrated in the old town until morning.",
                "Supporters partied in the city centre through the night.",
            ],
        ],
        facts_ru=[
            [
                "В субботу вечером футбольный клуб «{city}» выиграл финал кубка страны со счётом {n}:1, {detail}.",
                "Клуб «{city}» в субботу победил в финале кубка — {n}:1, {detail}.",
            ],
            ["Нападающий {person} забил два мяча и признан лучшим игроком матча."],
            ["Это первый трофей клуба за одиннадцать лет."],
            ["Тысячи болельщиков праздновали победу до утра."],
        ],
        details=[
            ("coming back from a goal down", "отыгравшись после пропущенного мяча"),
            ("with ten men for the last half hour", "полчаса играя вдесятером"),
            ("in their first final for the club's new coach", "в первом финале нового тренера"),
            ("after extra time", "в дополнительное время"),
            ("with a late penalty", "благодаря пенальти на последних минутах"),
            ("in a rain-soaked stadium", "на залитом дождём стадионе"),
            ("against the reigning champions", "обыграв действующих чемпионов"),
            ("in the last match of their veteran captain", "в последнем матче ветерана-капитана"),
            ("after a goalkeeping error by the rivals", "после ошибки вратаря соперников"),
            ("with a goal from a corner in the first minute", "забив с углового на первой минуте"),
        ],
        lead_en="FC {city} won the cup final {n}-1, {detail}, with two goals from {person}.",
        lead_ru="Клуб «{city}» выиграл финал кубка со счётом {n}:1, {detail}; два мяча забил {person}.",
        number=(2, 4),
    ),
    Kind(
        name="landing",
        tags=["aviation", "transport"],
        titles_en=[
            "Plane makes emergency landing in {city}",
            "{org} flight diverts to {city}, {detail}",
            "Passengers safe after emergency landing in {city}",
        ],
        titles_ru=["Самолёт совершил экстренную посадку в городе {city}", "Рейс {org} экстренно сел в городе {city}"],
        facts_en=[
            [
                "A passenger jet operated by {org} made an emergency landing in {city} on Friday, {detail}.",
                "An {org} airliner was forced to land in {city} on Friday, {detail}.",
                "On Friday an {org} flight had to make an emergency landing in {city}, {detail}.",
            ],
            [
                "All {n}0 passengers and crew were evacuated by slides, airport director {person} said.",
                "Airport director {person} said the {n}0 people on board left the plane by emergency slides.",
                "Everyone on board, {n}0 people, was evacuated safely, according to airport director {person}.",
            ],
            [
                "The runway was closed for three hours.",
                "Flights were suspended for three hours while the runway was cleared.",
            ],
            ["Investigators have opened an inquiry.", "Air accident investigators are examining the aircraft."],
        ],
        facts_ru=[
            [
                "В пятницу пассажирский самолёт компании {org} совершил экстренную посадку в городе {city}, {detail}.",
                "Лайнер {org} в пятницу был вынужден экстренно приземлиться в городе {city}, {detail}.",
            ],
            [
                "Все {n}0 пассажиров и членов экипажа эвакуированы по надувным трапам, сообщил директор аэропорта {person}."  # noqa: E501
            ],
            ["Взлётно-посадочная полоса была закрыта на три часа."],
            ["Следователи начали расследование."],
        ],
        details=[
            ("after an engine caught fire", "после возгорания двигателя"),
            ("after a bird strike on take-off", "после столкновения с птицей на взлёте"),
            ("because of smoke in the cabin", "из-за дыма в салоне"),
            ("when the landing gear failed", "из-за отказа шасси"),
            ("after a cracked windscreen", "после того как треснуло лобовое стекло"),
            ("due to a bomb threat", "из-за сообщения о бомбе"),
            ("after a passenger fell ill", "из-за того что пассажиру стало плохо"),
            ("after losing cabin pressure", "после разгерметизации салона"),
            ("after a fuel leak", "из-за утечки топлива"),
            ("in a storm with strong crosswinds", "в шторм при сильном боковом ветре"),
        ],
        lead_en="An {org} passenger jet made an emergency landing in {city}, {detail}; all {n}0 people were evacuated.",
        lead_ru="Самолёт компании {org} экстренно сел в городе {city}, {detail}; все {n}0 человек эвакуированы.",
        number=(9, 24),
    ),
]

COUNTRIES = [
    ("Norway", "Норвегия"), ("Poland", "Польша"), ("Chile", "Чили"), ("Hungary", "Венгрия"), ("Ghana", "Гана"),
    ("Kenya", "Кения"), ("Peru", "Перу"), ("Serbia", "Сербия"), ("Georgia", "Грузия"), ("Iceland", "Исландия"),
]  # fmt: skip


@dataclass(frozen=True)
class LabelledArticle:
    id: str
    story: str  # "<kind>-<n>"; distractors have a story of their own ("<kind>-d<n>")
    kind: str
    language: str
    source_id: str
    source_name: str
    title: str
    body: str
    published_at: datetime
    tags: list[str]
    distractor: bool = False


@dataclass
class LabelledSet:
    articles: list[LabelledArticle] = field(default_factory=list)
    reference_leads: dict[tuple[str, str], str] = field(default_factory=dict)  # (story, language) → lead

    def stories(self) -> dict[str, list[LabelledArticle]]:
        groups: dict[str, list[LabelledArticle]] = {}
        for article in self.articles:
            groups.setdefault(article.story, []).append(article)
        return groups


def _fill(template: str, slots: dict[str, str]) -> str:
    return template.format(**slots)


def _slots(
    rng: random.Random, kind: Kind, detail: tuple[str, str], used: set[str]
) -> tuple[dict[str, str], dict[str, str]]:
    city = rng.choice([c for c in CITIES if c[0] not in used])
    used.add(city[0])
    person = rng.choice(PEOPLE)
    country = rng.choice(COUNTRIES)
    org, org2 = rng.sample(COMPANIES, 2)
    low, high = kind.number
    n = rng.randint(low, high)
    n10 = f"{rng.randint(50, 79) / 10:.1f}" if kind.name == "earthquake" else f"{n / 2 + 0.25:.2f}"
    common = {"n": str(n), "n10": n10, "org": org, "org2": org2}
    en = {**common, "city": city[0], "person": person[0], "country": country[0], "detail": detail[0]}
    ru = {**common, "city": city[1], "person": person[1], "country": country[1], "detail": detail[1]}
    return en, ru


def _article(rng: random.Random, kind: Kind, slots: dict[str, str], *, language: str, variant: int) -> tuple[str, str]:
    titles = kind.titles_en if language == "en" else kind.titles_ru
    facts = kind.facts_en if language == "en" else kind.facts_ru
    title = _fill(titles[variant % len(titles)], slots)
    lead = _fill(facts[0][variant % len(facts[0])], slots)
    rest = [_fill(options[(variant + i) % len(options)], slots) for i, options in enumerate(facts[1:], start=1)]
    rng.shuffle(rest)  # each source orders the follow-up facts its own way
    keep = len(rest) if variant % 2 == 0 else len(rest) - 1  # some sources are shorter
    return title, " ".join([lead, *rest[:keep]])


def build(seed: int = SEED) -> LabelledSet:
    """The whole labelled set, identical for a given seed."""
    rng = random.Random(seed)
    labelled = LabelledSet()
    for k, kind in enumerate(KINDS):
        used: set[str] = set()
        for s in range(STORIES_PER_KIND + DISTRACTORS_PER_KIND):
            distractor = s >= STORIES_PER_KIND
            story = f"{kind.name}-d{s - STORIES_PER_KIND}" if distractor else f"{kind.name}-{s}"
            en, ru = _slots(rng, kind, kind.details[s], used)
            when = BASE_TIME + timedelta(days=k * 2 + s % 3, hours=rng.randint(0, 12))
            labelled.reference_leads[(story, "en")] = _fill(kind.lead_en, en)
            labelled.reference_leads[(story, "ru")] = _fill(kind.lead_ru, ru)
            plan = [("en", 0)] if distractor else [("en", 0), ("en", 1), ("en", 2), ("ru", 0), ("ru", 1)]
            if distractor and s % 2:
                plan = [("ru", s % 2)]
            en_sources = rng.sample(EN_SOURCES, 3)
            ru_sources = rng.sample(RU_SOURCES, 2)
            for i, (language, variant) in enumerate(plan):
                slots = en if language == "en" else ru
                title, body = _article(rng, kind, slots, language=language, variant=variant)
                source_id, source_name = (en_sources if language == "en" else ru_sources)[
                    variant % 3 if language == "en" else variant % 2
                ]
                labelled.articles.append(
                    LabelledArticle(
                        id=f"{story}-{i}",
                        story=story,
                        kind=kind.name,
                        language=language,
                        source_id=source_id,
                        source_name=source_name,
                        title=title,
                        body=body,
                        published_at=when + timedelta(minutes=37 * i),
                        tags=list(kind.tags),
                        distractor=distractor,
                    )
                )
    return labelled


def main() -> None:
    labelled = build()
    stories = [s for s, items in labelled.stories().items() if len(items) > 1]
    languages = {lang: sum(a.language == lang for a in labelled.articles) for lang in ("en", "ru")}
    print(
        f"{len(labelled.articles)} articles, {len(stories)} stories, {languages}, "
        f"{sum(a.distractor for a in labelled.articles)} distractors"
    )
    for article in labelled.articles[:6]:
        print(f"\n[{article.id} {article.language} {article.source_name}] {article.title}\n{article.body}")


if __name__ == "__main__":
    main()
