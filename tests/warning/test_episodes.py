"""Known episodes and the backtest: an episodes file read with every problem named, the
scoring (recall, lead time, precision, alerts per country-year) on hand-computed cases, and
`riskatlas warning backtest` (its JSON, its table, --episodes, no look-ahead)."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest

from riskatlas.config import Settings
from riskatlas.runtime import Runtime
from riskatlas.warning import episodes as ep
from riskatlas.warning.series import Candidate

from ..helpers import cli
from .test_alerts import RIOTS, WEEK, _coverage, _events


def _alert(country: str, admin1: str | None, start: date, severity: int) -> Candidate:
    return Candidate("T", country, admin1, start, start + timedelta(days=6), 5.0, 1.0, 4.0,
                     severity, "x", None, ("CA-BRD-001",), "record")


def _file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "episodes.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_an_episodes_file_is_read_with_names_codes_and_a_byte_order_mark(tmp_path: Path,
                                                                         ) -> None:
    path = _file(tmp_path, "\ufeffcountry,admin1,start,end,label\n"
                 "Kyrgyzstan,Batken,2022-09-14,2022-09-20,border war\n"
                 "\n"
                 "TJK,,2021-04-28,2021-05-01,\"Kok-Tash, water point\"\n")
    found = ep.load_episodes(path)
    assert [(e.country, e.admin1, e.start, e.end, e.label, e.line) for e in found] == [
        ("KGZ", "Batken", date(2022, 9, 14), date(2022, 9, 20), "border war", 2),
        ("TJK", None, date(2021, 4, 28), date(2021, 5, 1), "Kok-Tash, water point", 4)]


def test_every_problem_of_an_episodes_file_is_named_at_once(tmp_path: Path) -> None:
    path = _file(tmp_path, "country,admin1,start,end,label\n"
                 "Atlantis,,2022-01-01,2022-01-02,a\n"
                 "KGZ,Osh,2022-13-01,2022-01-02,b\n"
                 "KGZ,Osh,2022-02-01,2022-01-02,c\n"
                 "KGZ,Osh,2022-02-01\n"
                 ",Osh,2022-02-01,2022-02-02,e\n")
    with pytest.raises(ep.EpisodeError) as caught:
        ep.load_episodes(path)
    problems = caught.value.problems
    assert [p.split(": ")[0] for p in problems] == [f"{path}:{n}" for n in (2, 3, 4, 5, 6)]
    assert problems[0].startswith(f"{path}:2: country: ")
    assert problems[1] == f"{path}:3: start: not a date (YYYY-MM-DD): '2022-13-01'"
    assert problems[2] == f"{path}:4: end: before start (2022-02-01)"
    assert problems[3] == f"{path}:5: row: 3 field(s), the header has 5"
    assert problems[4] == f"{path}:6: country: empty"
    missing = _file(tmp_path, "country,start,end\nKGZ,2022-01-01,2022-01-02\n")
    with pytest.raises(ep.EpisodeError, match=r":1: header: missing column\(s\) admin1, label"):
        ep.load_episodes(missing)


BATKEN = ep.Episode("KGZ", "Batken", date(2024, 5, 11), date(2024, 5, 24), "clashes")
QUIET = ep.Episode("TJK", None, date(2024, 9, 14), date(2024, 9, 20), "unseen")
BEFORE = ep.Episode("UZB", None, date(2020, 1, 1), date(2020, 1, 7), "outside the replay")
ALERTS = [
    _alert("KGZ", "Batken", date(2024, 4, 27), 2),  # 2 weeks before: an early warning
    _alert("KGZ", "Batken", date(2024, 5, 11), 4),  # its first week
    _alert("KGZ", "Osh", date(2024, 5, 11), 3),  # another province: no match
    _alert("KGZ", None, date(2024, 5, 18), 1),  # the country level covers every province
    _alert("KGZ", "Batken", date(2024, 3, 2), 3),  # 10 weeks before: too early to count
]
SINCE, UNTIL = date(2024, 1, 6), date(2024, 12, 27)


def test_scores_against_the_episodes_by_hand() -> None:
    figures = ep.score(ALERTS, [BATKEN, QUIET, BEFORE], SINCE, UNTIL, ["KAZ", "TJK"])
    assert figures["episodes"] == 2  # the 2020 episode is outside the replay
    assert figures["detected"] == 1 and figures["recall"] == 0.5
    assert figures["caught_by_first_period"] == 1
    assert figures["lead_periods"] == {"mean": 2, "median": 2, "min": 2, "max": 2}
    assert figures["alerts"] == 5
    assert figures["precision"] == pytest.approx(3 / 5)  # alerts 1, 2 and 4
    assert figures["high_alerts"] == 3 and figures["precision_high"] == pytest.approx(1 / 3)
    years = (UNTIL - SINCE).days / 365.25 + 1 / 365.25
    assert figures["alerts_per_country_year"] == pytest.approx(5 / (3 * years))
    assert figures["alerts_per_country_year_by_country"] == {
        "KAZ": 0.0, "KGZ": round(5 / years, 3), "TJK": 0.0}
    batken, quiet = figures["by_episode"]
    assert (batken["detected"], batken["alerts"], batken["first_alert"],
            batken["lead_periods"]) == (True, 3, "2024-04-27", 2)
    assert (quiet["detected"], quiet["alerts"], quiet["first_alert"]) == (False, 0, None)


def test_a_province_matches_under_any_of_its_spellings() -> None:
    start = date(2022, 9, 17)
    episode = ep.Episode("KGZ", "Batken", start, start + timedelta(days=6), "border clashes")
    for name in ("Batken", "batken", "Batken province", "Batken Oblast", "BATKEN region"):
        assert ep.matches(_alert("KGZ", name, start, 3), episode), name
    for name in ("Osh", "Batkenabad"):
        assert not ep.matches(_alert("KGZ", name, start, 3), episode), name
    gbao = ep.Episode("TJK", "Gorno-Badakhshan", start, start, "GBAO")
    assert ep.matches(_alert("TJK", "Gorno Badakhshan Autonomous Oblast", start, 3), gbao)
    assert ep.matches(_alert("TJK", "Горно-Бадахшанская", start, 3), gbao) is False


def test_the_lead_window_decides_what_counts_as_a_warning() -> None:
    figures = ep.score(ALERTS, [BATKEN], SINCE, UNTIL, [], lead=1)
    assert figures["by_episode"][0]["first_alert"] == "2024-05-11"
    assert figures["lead_periods"]["median"] == 0 and figures["precision"] == pytest.approx(2 / 5)
    assert ep.score([], [BATKEN], SINCE, UNTIL, [])["precision"] is None


def _backtest(db_url: str, tmp_path: Path, *extra: str, until: date = WEEK + timedelta(days=6),
              ) -> tuple[int, str, str]:
    path = tmp_path / "riots.yaml"
    path.write_text(RIOTS, encoding="utf-8")
    result = cli("warning", "backtest", "--since", (WEEK - timedelta(weeks=4)).isoformat(),
                 "--until", until.isoformat(), "--indicators", str(path), "--db", db_url,
                 *extra)
    return result.exit_code, result.stdout, result.stderr


def test_backtest_prints_the_alerts_and_their_scores(db_url: str, tmp_path: Path) -> None:
    runtime = Runtime(Settings(database_url=db_url))
    _coverage(runtime)
    _events(runtime, "clear", "C5-SEC", [WEEK] * 3 + [WEEK + timedelta(days=2)] * 2)
    code, out, err = _backtest(db_url, tmp_path)
    assert code == 0, err
    found = json.loads(out)["alerts"]
    assert [(a["indicator"], a["country"], a["admin1"], a["period_start"], a["period_end"],
             a["observed"], a["severity"], a["risks"]) for a in found] == [
        ("T-RIOTS", "KAZ", "Almaty", "2024-05-04", "2024-05-10", 5.0, found[0]["severity"],
         ["CA-UNR-001"])]
    assert {"expected", "score", "severity_label"} <= found[0].keys()
    # No look-ahead: replayed up to the Sunday, the week counts the Saturday's 3 events only
    code, out, _ = _backtest(db_url, tmp_path, until=WEEK + timedelta(days=1))
    assert [a["observed"] for a in json.loads(out)["alerts"]] == [3.0]
    code, out, _ = _backtest(db_url, tmp_path, until=WEEK - timedelta(days=1))
    assert json.loads(out) == {"alerts": []}

    episodes = _file(tmp_path, "country,admin1,start,end,label\n"
                     "KAZ,Almaty,2024-05-04,2024-05-10,riots\n"
                     "KAZ,Shymkent,2024-04-06,2024-04-12,missed\n")
    code, out, _ = _backtest(db_url, tmp_path, "--episodes", str(episodes))
    evaluation = json.loads(out)["evaluation"]
    assert (evaluation["episodes"], evaluation["detected"], evaluation["precision"]) == (2, 1,
                                                                                       1.0)
    assert [e["lead_periods"] for e in evaluation["by_episode"]] == [0, None]

    code, out, _ = _backtest(db_url, tmp_path, "--episodes", str(episodes), "--format", "table")
    assert code == 0
    assert "1 alert(s), 2024-04-06 to 2024-05-10" in out
    assert "Against the episodes" in out and "missed" in out and "riots" in out

    broken = _file(tmp_path, "country,admin1,start,end,label\nKAZ,,2024-05-40,2024-05-41,x\n")
    code, out, err = _backtest(db_url, tmp_path, "--episodes", str(broken))
    assert code == 2 and out == ""
    assert f"{broken}:2: start: not a date (YYYY-MM-DD): '2024-05-40'" in err


def test_backtest_refuses_a_reversed_range(db_url: str, tmp_path: Path) -> None:
    code, _, err = _backtest(db_url, tmp_path, until=WEEK - timedelta(weeks=5))
    assert code == 2 and "--since is after --until" in err
