"""Deterministic synthetic catalog for the benchmarks (and shared helpers for them).

`generate(risks, measures, seed)` returns a catalog document in the import format
(docs/catalog-format.md): risks spread over the 13 domains, English and Russian texts of
realistic length (titles of 6-12 words, summaries of 60-110 words, as in the shipped catalog),
1-3 affected states, 1-2 dated sources, 0-2 national assessments, and measures each linked to
1-3 risks. The same arguments always give the same document (a private random.Random).

Word frequencies follow a Zipf law over a fixed vocabulary, so full-text searches hit a
realistic mix of common and rare words; `search_words` picks words of three frequency bands.
"""

from __future__ import annotations

import json
import os
import platform
import random
import re
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
SEED = 20240513

DOMAINS = {
    "terrorism": "TER", "trafficking": "TRF", "borders": "BRD", "water_energy": "WEN",
    "afghanistan": "AFG", "unrest": "UNR", "cyber": "CYB", "information": "INF",
    "climate": "CLM", "health": "HLT", "economic": "ECO", "cbrn": "CBR", "migration": "MIG",
}
MEMBERS = ("KAZ", "KGZ", "TJK", "TKM", "UZB")
PARTNERS = ("SAU", "ARE", "QAT", "KWT", "OMN", "BHR", "AZE")
MEMBER_ORGS = ("KAZ-SC", "KGZ-SC", "TJK-SC", "TKM-SC", "UZB-SC")
LEVELS = ("Very Low", "Low", "Moderate", "High", "Very High")


def _split(text: str) -> list[str]:
    return text.split()


_EN = _split("""
border water energy reservoir dam river canal irrigation drought flood mudflow earthquake
glacier heat wave harvest grain wheat cotton fuel gas pipeline power grid outage blackout
winter shortage tariff price inflation remittance migrant worker labour return deportation
camp refugee displacement evacuation village district province capital city region valley
corridor highway railway bridge checkpoint crossing enclave exclave delimitation demarcation
treaty agreement commission talks ministry council parliament government court police army
guard patrol troops drone artillery clash incident shooting casualties injured killed
detained arrested sentence network cell recruitment radicalisation propaganda online channel
platform messenger account campaign narrative disinformation rumour election protest strike
unrest riot curfew emergency state security service intelligence cooperation exchange
training exercise drill capacity laboratory pathogen outbreak vaccine hospital clinic
surveillance sample stockpile uranium tailings legacy waste site contamination radiation
monitoring inspection customs smuggling heroin methamphetamine opium precursor seizure
weapons ammunition cache trafficking route convoy corruption official bribery sanctions
secondary export import trade transit bank payment currency debt loan investment pressure
coercion leverage dependency supplier market cyberattack ransomware malware phishing outage
breach data registry infrastructure telecom operator satellite internet shutdown blocking
fighters returnees families women children prison deradicalisation rehabilitation
reintegration mosque imam school university youth unemployment poverty land pasture
livestock herders dispute conflict tension escalation mediation dialogue confidence
measures early warning indicators forecast model scenario likelihood impact assessment
risk hazard exposure vulnerability resilience preparedness response recovery funding
donor programme project pilot rollout evaluation report audit statistics survey census
satellite imagery map mapping sensor station network gauge snowpack runoff basin aquifer
""")
_EN_PLACES = _split("""
Batken Sughd Fergana Osh Jalal-Abad Isfara Vorukh Sokh Khujand Andijan Namangan Samarkand
Bukhara Khorezm Karakalpakstan Aral Amu Darya Syr Darya Naryn Toktogul Rogun Nurek Kambarata
Termez Hairatan Panj Badakhshan Khorog Murghab Gorno Dushanbe Bishkek Tashkent Astana Almaty
Ashgabat Turkmenbashi Mary Dashoguz Zhanaozen Aktau Atyrau Shymkent Taraz Karaganda Kulob
Kunduz Mazar Balkh Herat Kabul Wakhan Chitral Kashgar Irkeshtam Torugart Caspian Tajik Kyrgyz
""")
_EN_STOP = _split("the of and in to a on for with by from at as is are was that this its over")

_RU = _split("""
граница вода энергия водохранилище плотина река канал орошение засуха наводнение сель
землетрясение ледник жара урожай зерно пшеница хлопок топливо газ трубопровод энергосистема
авария отключение зима дефицит тариф цена инфляция переводы мигрант работник труд возвращение
депортация лагерь беженцы перемещение эвакуация село район область столица город регион
долина коридор трасса железная дорога мост пункт пропуска переход анклав делимитация
демаркация договор соглашение комиссия переговоры министерство совет парламент правительство
суд полиция армия пограничники патруль войска беспилотник артиллерия столкновение инцидент
стрельба жертвы раненые погибшие задержанные арест приговор сеть ячейка вербовка
радикализация пропаганда канал платформа мессенджер аккаунт кампания нарратив дезинформация
слухи выборы протест забастовка беспорядки комендантский час чрезвычайное положение
безопасность служба разведка сотрудничество обмен обучение учения потенциал лаборатория
патоген вспышка вакцина больница надзор образец запасы уран хвостохранилище наследие отходы
загрязнение радиация мониторинг инспекция таможня контрабанда героин метамфетамин опиум
прекурсоры изъятие оружие боеприпасы тайник маршрут конвой коррупция взятки санкции экспорт
импорт торговля транзит банк платежи валюта долг кредит инвестиции давление принуждение
зависимость поставщик рынок кибератака вымогатель вредоносная программа фишинг утечка данные
реестр инфраструктура оператор спутник интернет блокировка боевики возвращенцы семьи женщины
дети тюрьма реабилитация реинтеграция мечеть школа университет молодёжь безработица бедность
земля пастбище скот скотоводы спор конфликт напряжённость эскалация посредничество диалог
доверие меры раннее предупреждение индикаторы прогноз модель сценарий вероятность
последствия оценка риск угроза уязвимость устойчивость готовность реагирование
восстановление финансирование донор программа проект пилот оценка отчёт статистика опрос
""")
_RU_PLACES = _split("""
Баткен Согд Фергана Ош Джалал-Абад Исфара Ворух Сох Худжанд Андижан Наманган Самарканд
Бухара Хорезм Каракалпакстан Арал Амударья Сырдарья Нарын Токтогул Рогун Нурек Камбарата
Термез Хайратон Пяндж Бадахшан Хорог Мургаб Душанбе Бишкек Ташкент Астана Алматы Ашхабад
Туркменбаши Мары Дашогуз Жанаозен Актау Атырау Шымкент Тараз Караганда Куляб Кундуз Мазари
""")
_RU_STOP = _split("и в на с по от для о к из за при что это как его над под")
_PUBLISHERS = ("Reuters", "AFP", "24.kg", "Eurasianet", "RFE/RL", "UNODC", "World Bank",
               "OSCE", "UNDP", "Asia-Plus", "Kun.uz", "Tengrinews", "The Diplomat", "IWPR")

_TOKEN = re.compile(r"[^\W_]+(?:-[^\W_]+)*")
_SYLLABLES = ("ka", "ra", "tu", "mi", "zan", "bek", "dor", "sha", "lo", "vin", "ur", "tal",
              "gen", "pol", "kir", "as", "mon", "te", "nu", "bay")


class _Words:
    """Zipf-weighted sampler over one language's vocabulary (stop words very frequent)."""

    def __init__(self, rnd: random.Random, words: list[str], places: list[str],
                 stop: list[str]) -> None:
        self.rnd = rnd
        order = list(words)
        rnd.shuffle(order)  # the seed decides which words are common
        vocab = stop + order + places
        self.vocab = vocab
        # Zipf (s=1.07) over rank; place names are in the long tail.
        self.cum = []
        total = 0.0
        for rank in range(1, len(vocab) + 1):
            total += 1.0 / rank ** 1.07
            self.cum.append(total)

    def words(self, n: int) -> list[str]:
        return self.rnd.choices(self.vocab, cum_weights=self.cum, k=n)

    def sentence(self, lo: int, hi: int) -> str:
        text = " ".join(self.words(self.rnd.randint(lo, hi)))
        return text[:1].upper() + text[1:] + "."

    def title(self, lo: int, hi: int) -> str:
        text = " ".join(self.words(self.rnd.randint(lo, hi)))
        return text[:1].upper() + text[1:]

    def paragraph(self, lo: int, hi: int) -> str:
        target = self.rnd.randint(lo, hi)
        out: list[str] = []
        count = 0
        while count < target:
            n = min(self.rnd.randint(12, 24), target - count)
            out.append(self.sentence(n, n))
            count += n
        return " ".join(out)


def _codenames(rnd: random.Random, n: int) -> list[str]:
    """Rare words (names of operations, projects, sites): each in a handful of records."""
    names: set[str] = set()
    while len(names) < n:
        names.add("".join(rnd.choices(_SYLLABLES, k=rnd.randint(2, 4))))
    return sorted(names)


def _text(en: _Words, ru: _Words, kind: str, rare: list[str] | None = None) -> dict[str, str]:
    if kind == "title":
        return {"en": en.title(6, 12), "ru": ru.title(6, 12)}
    if kind == "summary":
        text = {"en": en.paragraph(70, 130), "ru": ru.paragraph(60, 115)}
        if rare and en.rnd.random() < 0.25:
            name = en.rnd.choice(rare).capitalize()
            text = {"en": f"{text['en']} Operation {name}.", "ru": f"{text['ru']} Операция {name}."}
        return text
    if kind == "rationale":
        return {"en": en.sentence(18, 32), "ru": ru.sentence(16, 30)}
    return {"en": en.sentence(6, 12), "ru": ru.sentence(5, 11)}  # drivers, warning signs


def _date(rnd: random.Random) -> str:
    year = rnd.randint(2015, 2025)
    form = rnd.random()
    if form < 0.7:
        return f"{year}-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d}"
    return f"{year}-{rnd.randint(1, 12):02d}" if form < 0.9 else str(year)


def _source(rnd: random.Random, en: _Words, n: int) -> dict[str, Any]:
    publisher = rnd.choice(_PUBLISHERS)
    slug = "-".join(en.words(6)).lower()
    site = re.sub(r"[^a-z0-9]+", "-", publisher.lower())
    return {"title": en.title(5, 11), "url": f"https://news.example.org/{site}/{n}/{slug}",
            "published": _date(rnd), "publisher": publisher}


def _tlp(rnd: random.Random) -> tuple[str, dict[str, list[str]]]:
    """Mostly CLEAR; some GREEN and AMBER; a few AMBER+STRICT shared with one member org."""
    x = rnd.random()
    if x < 0.70:
        return "clear", {}
    if x < 0.85:
        return "green", {}
    if x < 0.95:
        return "amber", {}
    return "amber+strict", {"orgs": [rnd.choice(MEMBER_ORGS)]}


def _owner(rnd: random.Random) -> str:
    return "C5-SEC" if rnd.random() < 0.6 else rnd.choice(MEMBER_ORGS)


def generate(risks: int = 10_000, measures: int = 30_000, seed: int = SEED) -> dict[str, Any]:
    """The synthetic catalog document (actors, risks, measures) in the import format."""
    rnd = random.Random(seed)
    en = _Words(rnd, _EN, _EN_PLACES, _EN_STOP)
    ru = _Words(rnd, _RU, _RU_PLACES, _RU_STOP)
    rare = _codenames(rnd, 2000)
    actors = [{"key": f"SYN-ACTOR-{i:02d}", "name": {"en": en.title(2, 4), "ru": ru.title(2, 4)},
               "kind": rnd.choice(["non_state_armed_group", "criminal_network", "organisation",
                                   "state", "other"])} for i in range(1, 21)]
    domains = list(DOMAINS)
    per_domain = -(-risks // len(domains))
    width = max(3, len(str(per_domain)))
    out_risks: list[dict[str, Any]] = []
    counters = dict.fromkeys(domains, 0)
    for i in range(risks):
        domain = domains[i % len(domains)]
        counters[domain] += 1
        states = rnd.sample(MEMBERS, rnd.choices((1, 2, 3), (5, 3, 2))[0])
        if rnd.random() < 0.08:
            states[-1] = rnd.choice(PARTNERS)
        tlp, sharing = _tlp(rnd)
        likelihood, impact = rnd.choice(LEVELS), rnd.choice(LEVELS)
        risk: dict[str, Any] = {
            "key": f"CA-{DOMAINS[domain]}-{counters[domain]:0{width}d}",
            "title": _text(en, ru, "title"), "summary": _text(en, ru, "summary", rare),
            "category": rnd.choice(["traditional", "emerging", "hybrid"]),
            "domain": domain, "states": states,
            "actors": [a["key"] for a in rnd.sample(actors, rnd.choice((0, 0, 1, 2)))],
            "likelihood": likelihood, "impact": impact,
            "rationale": _text(en, ru, "rationale"),
            "trend": rnd.choice(["rising", "stable", "falling", "unknown"]),
            "horizon": rnd.choice(["short", "medium", "long"]),
            "drivers": [_text(en, ru, "item") for _ in range(rnd.randint(1, 3))],
            "warning_signs": [_text(en, ru, "item") for _ in range(rnd.randint(1, 3))],
            "sources": [_source(rnd, en, i * 2 + n) for n in range(rnd.randint(1, 2))],
            "assessments": [
                {"state": s, "likelihood": rnd.choice(LEVELS), "impact": rnd.choice(LEVELS),
                 "rationale": _text(en, ru, "rationale")}
                for s in sorted(s for s in states if s in MEMBERS)[: rnd.choice((0, 1, 2))]
            ],
            "tlp": tlp, "status": rnd.choice(["draft", "proposed", "adopted", "adopted"]),
            "owner": _owner(rnd),
        }
        if sharing:
            risk["sharing"] = sharing
        out_risks.append(risk)
    keys = [r["key"] for r in out_risks]
    mwidth = max(3, len(str(measures)))
    out_measures: list[dict[str, Any]] = []
    for i in range(1, measures + 1):
        tlp, sharing = _tlp(rnd)
        measure: dict[str, Any] = {
            "key": f"CA-MSR-{i:0{mwidth}d}",
            "title": _text(en, ru, "title"), "summary": _text(en, ru, "summary", rare),
            "kind": rnd.choice(["prevention", "preparedness", "mitigation", "response",
                                "recovery"]),
            "treatment": rnd.choice(["avoid", "reduce", "reduce", "share", "retain"]),
            "lead": rnd.choice(("C5-SEC", *MEMBER_ORGS)),
            "states": rnd.sample(MEMBERS, rnd.randint(1, 3)),
            "status": rnd.choice(["proposed", "agreed", "in_progress", "implemented",
                                  "evaluated"]),
            "effect": {"likelihood": rnd.randint(0, 2), "impact": rnd.randint(0, 1)},
            "risks": rnd.sample(keys, rnd.randint(1, 3)),
            "start": _date(rnd), "progress": rnd.randint(0, 100),
            "sources": [_source(rnd, en, 10**7 + i)] if rnd.random() < 0.5 else [],
            "tlp": tlp, "owner": _owner(rnd),
        }
        if sharing:
            measure["sharing"] = sharing
        out_measures.append(measure)
    return {"actors": actors, "risks": out_risks, "measures": out_measures}


def write_catalog(path: Path, doc: dict[str, Any]) -> int:
    """Write the document as `riskatlas export --format json` would; return its size in bytes."""
    text = json.dumps(doc, ensure_ascii=False, indent=2) + "\n"
    path.write_text(text, encoding="utf-8")
    return len(text.encode("utf-8"))


def document_frequencies(doc: dict[str, Any]) -> dict[str, float]:
    """Share of risks whose texts (any language) contain each word, as a whole word."""
    counts: dict[str, int] = {}
    for r in doc["risks"]:
        texts = [r["title"], r["summary"], r["rationale"], *r["drivers"], *r["warning_signs"]]
        for w in {t.lower() for text in texts for v in text.values() for t in _TOKEN.findall(v)}:
            counts[w] = counts.get(w, 0) + 1
    n = max(1, len(doc["risks"]))
    return {w: c / n for w, c in counts.items()}


def search_words(doc: dict[str, Any]) -> dict[str, tuple[str, float]]:
    """Three English words to search for: common (in ~30% of risks), medium (~8%) and rare
    (a code name in a few risks), with their document frequency. Deterministic per document."""
    df = document_frequencies(doc)
    vocab = set(_EN) | {w.lower() for w in _EN_PLACES}
    out: dict[str, tuple[str, float]] = {}
    for band, target, pool in (("common", 0.30, vocab), ("medium", 0.08, vocab),
                               ("rare", 0.0006, set(df) - vocab - set(_EN_STOP))):
        candidates = sorted((abs(f - target), w) for w, f in df.items()
                            if w in pool and w.isascii() and w.isalpha())
        word = candidates[0][1]
        out[band] = (word, df[word])
    return out


# --- shared benchmark helpers ----------------------------------------------------------------


def text_table(rows: list[tuple[str, ...]]) -> list[str]:
    """Rows as aligned text lines, the first a header underlined with dashes."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
             for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return lines


def log(message: str) -> None:
    """Progress line on stderr, with the wall-clock time."""
    sys.stderr.write(f"[{time.strftime('%H:%M:%S')}] {message}\n")
    sys.stderr.flush()


@contextmanager
def step(message: str) -> Iterator[None]:
    log(f"{message} ...")
    t0 = time.perf_counter()
    yield
    log(f"{message}: done in {time.perf_counter() - t0:.2f} s")


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    result = fn()
    return time.perf_counter() - t0, result


def median_of(fn: Callable[[], Any], runs: int, warmup: int = 2) -> tuple[float, list[float]]:
    for _ in range(warmup):
        fn()
    samples = [timed(fn)[0] for _ in range(runs)]
    return statistics.median(samples), samples


def machine() -> dict[str, Any]:
    return {"date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "cpus": os.cpu_count(), "python": platform.python_version(),
            "platform": platform.platform(), "processor": platform.processor() or None}


def write_results(name: str, data: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS / f"{name}-{stamp}.json"
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (RESULTS / f"{name}-latest.json").write_text(path.read_text(encoding="utf-8"),
                                                  encoding="utf-8")
    return path


class Database:
    """A fresh, migrated and seeded database: a SQLite file in a temporary folder, or a new
    database created on the PostgreSQL server of `admin_url` (dropped again on close)."""

    def __init__(self, admin_url: str | None, label: str, folder: Path | None = None) -> None:
        self.admin_url = admin_url
        self._tmp = None if folder else tempfile.TemporaryDirectory(prefix="riskatlas-bench-")
        self.folder = folder or Path(self._tmp.name)  # type: ignore[union-attr]
        if admin_url is None:
            self.url = f"sqlite:///{self.folder / (label + '.db')}"
            self.name = None
        else:
            from sqlalchemy import create_engine, text
            from sqlalchemy.engine import make_url

            self.name = f"riskatlas_bench_{label}_{uuid.uuid4().hex[:8]}"
            admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{self.name}"'))
            admin.dispose()
            self.url = make_url(admin_url).set(database=self.name).render_as_string(
                hide_password=False)
        from riskatlas.migrate import upgrade
        from riskatlas.parties.service import seed
        from riskatlas.runtime import make_runtime

        upgrade(self.url)
        with make_runtime(self.url).transaction() as session:
            seed(session)

    @property
    def dialect(self) -> str:
        return "sqlite" if self.admin_url is None else "postgresql"

    def close(self) -> None:
        from riskatlas.db import _engines

        engine = _engines.pop(self.url, None)
        if engine is not None:
            engine.dispose()
        if self.admin_url is not None:
            from sqlalchemy import create_engine, text

            admin = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
            admin.dispose()
        if self._tmp is not None:
            self._tmp.cleanup()


def import_catalog(url: str, path: Path) -> str:
    """Import a catalog file through the real two-phase path, exactly as `riskatlas import`
    does (validate_files, then save with Who("import"), in one transaction)."""
    from riskatlas.audit.service import Who
    from riskatlas.catalog.importer import validate_files
    from riskatlas.catalog.matrix import active_matrix
    from riskatlas.catalog.service import save
    from riskatlas.runtime import make_runtime

    rt = make_runtime(url)
    matrix = active_matrix(rt.settings)
    with rt.transaction() as session:
        batch = validate_files(session, matrix, [path])
        counts = save(session, matrix, batch, Who("import"))
    return str(counts)


# --- drawing requests: search words, pages, principals (api_load.py) ------------------------

# Search words by band of document frequency (share of risks whose texts hold the word), and
# the mix a varied load draws them in.
WORD_BANDS = {"common": (0.25, 1.0), "medium": (0.02, 0.25), "rare": (0.0, 0.02)}
WORD_MIX = {"common": 0.30, "medium": 0.40, "rare": 0.30}
# The organisations the load's accounts belong to, in turn: the five members' security
# councils, the secretariat (twice as often as one member) and two partners' governments.
PRINCIPAL_ORGS = ("KAZ-SC", "KGZ-SC", "TJK-SC", "TKM-SC", "UZB-SC", "C5-SEC", "KGZ-SC",
                  "C5-SEC", "SAU-GOV", "AZE-GOV")
PRINCIPAL_ROLES = ("viewer", "analyst", "viewer", "editor", "analyst")


def vocabulary(seed: int = SEED) -> dict[str, list[str]]:
    """The words `generate(seed=seed)` writes, without its stop words: English and Russian
    (common words and place names, in the Zipf order of that seed, most frequent first), and the
    2,000 code names (in English and Russian texts alike). Deterministic, cheap (no document)."""
    rnd = random.Random(seed)  # the same draws as the start of generate()
    en = _Words(rnd, _EN, _EN_PLACES, _EN_STOP)
    ru = _Words(rnd, _RU, _RU_PLACES, _RU_STOP)
    codenames = _codenames(rnd, 2000)
    stop = set(_EN_STOP) | set(_RU_STOP)
    return {"en": [w for w in dict.fromkeys(en.vocab) if w not in stop],
            "ru": [w for w in dict.fromkeys(ru.vocab) if w not in stop],
            "codenames": codenames}


def word_postings(texts: list[list[str]]) -> dict[str, list[int]]:
    """For each word (lower case, as a whole word), the indices of the records whose texts
    (`texts[i]`: every text of record i, any language) hold it."""
    out: dict[str, list[int]] = {}
    for i, record in enumerate(texts):
        for word in {t.lower() for text in record for t in _TOKEN.findall(text)}:
            out.setdefault(word, []).append(i)
    return out


def word_bands(postings: Mapping[str, Collection[int]], records: int,
               seed: int = SEED) -> dict[str, list[str]]:
    """The whole vocabulary of both languages and the code names, split by document frequency
    into the bands of WORD_BANDS. Only plain words (letters only) found in at least one record:
    a search that finds nothing costs nothing and measures nothing."""
    vocab = vocabulary(seed)
    out: dict[str, list[str]] = {band: [] for band in WORD_BANDS}
    for word in [*vocab["en"], *vocab["ru"], *vocab["codenames"]]:
        hits = len(postings.get(word.lower(), ()))
        if not hits or not word.isalpha():
            continue
        df = hits / max(1, records)
        for band, (lo, hi) in WORD_BANDS.items():
            if lo <= df < hi or (hi == 1.0 and df == 1.0):
                out[band].append(word)
                break
    return out


def draw_word(rnd: random.Random, bands: dict[str, list[str]]) -> tuple[str, str]:
    """(band, word): a band by WORD_MIX, then any word of it."""
    band = rnd.choices(list(WORD_MIX), weights=list(WORD_MIX.values()))[0]
    return band, rnd.choice(bands[band])


def draw_offset(rnd: random.Random, total: int, page: int) -> int:
    """The offset of any page of `total` hits (pages of `page`), each page alike; 0 if none."""
    return rnd.randrange(max(1, -(-total // page))) * page


def principals(n: int) -> list[tuple[str, str, str]]:
    """n accounts (username, organisation key, role), one per load-generator client, taking
    PRINCIPAL_ORGS and PRINCIPAL_ROLES in turn: from n = 10 on, 10 or more principals in 8
    organisations (members of five states, the secretariat, two partners)."""
    return [(f"bench-{i:03d}-{org.lower()}", org, PRINCIPAL_ROLES[i % len(PRINCIPAL_ROLES)])
            for i, org in ((i, PRINCIPAL_ORGS[i % len(PRINCIPAL_ORGS)]) for i in range(n))]
