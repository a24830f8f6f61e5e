"""The grouping, its states and organisations: seeded from the library, extended by the CLI.

Standing decides what an organisation reads (sharing.policy): an organisation of a state stands
where its state does (State.role), a body without a state has its own (Organisation.standing),
chosen when it is added, never assumed. Every change is audited; whatever changes these tables
(this module, `seed`, raw SQL) also moves the read generation (riskatlas.generation), which
tells the web cache (web.cache) that answers may have changed.
"""

from __future__ import annotations

import gettext
import re
import unicodedata
from functools import lru_cache
from importlib import resources
from typing import Any

import pycountry
import yaml
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from riskatlas.audit.service import append, ensure_head
from riskatlas.parties.accounts import STANDING
from riskatlas.parties.models import Grouping, Organisation, State
from riskatlas.parties.principal import BODY_STANDINGS, STATE_ROLES
from riskatlas.parties.schemas import Code

_CODE: TypeAdapter[str] = TypeAdapter(Code)
# Beyond the catalog's rule (trimmed, upper-cased, 1-64 characters): keys are also path segments
# (/api/v1/groups/{key}/members/{org}) and cells of catalog files, so no spaces, slashes or
# separators; letters, digits and - _ . as in the seeded keys (C5-SEC, KAZ-SC).
_KEY_CHARS = re.compile(r"^[A-Z0-9][A-Z0-9_.\-]*$")
# Names in the grouping's working languages are often Cyrillic (Russian, Kazakh, Kyrgyz, Tajik),
# which accent stripping alone would drop; other scripts need an explicit --key.
_CYRILLIC = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh", "з": "z",
    "и": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r",
    "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh",
    "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu", "я": "ya", "ә": "a",
    "ғ": "gh", "қ": "q", "ң": "ng", "ө": "o", "ұ": "u", "ү": "u", "һ": "h", "і": "i",
    "ӣ": "i", "ӯ": "u", "ҳ": "h", "ҷ": "j",
}


class PartiesError(ValueError):
    """A refused change to states or organisations; the message is fit to show."""


def library_parties() -> dict[str, Any]:
    text = (resources.files("riskatlas.library") / "parties.yaml").read_text(encoding="utf-8")
    data: dict[str, Any] = yaml.safe_load(text)
    return data


def seed(session: Session) -> None:
    """Create the default grouping, states and organisations that are missing (idempotent)."""
    data = library_parties()
    g = data["grouping"]
    if session.get(Grouping, g["code"]) is None:
        session.add(Grouping(code=g["code"], name=g["name"], adoption_rule=g["adoption_rule"],
                             languages={"working": g["languages"]}))
    for s in data["states"]:
        if session.get(State, s["code"]) is None:
            session.add(State(code=s["code"], name=s["name"], role=s["role"],
                              grouping_code=g["code"]))
    session.flush()
    ensure_head(session)
    known = set(session.scalars(select(Organisation.key)))
    for o in data["organisations"]:
        if o["key"] not in known:
            session.add(Organisation(key=o["key"], name=o["name"], state_code=o["state"],
                                     standing=o.get("standing")))
    session.flush()


# --- keys -------------------------------------------------------------------------------------

def normalise_key(value: str, what: str = "organisation") -> str:
    """An organisation or sharing-group key as stored: the catalog's rule for organisation codes
    (parties.schemas.Code: trimmed, upper-cased, 1-64 characters), limited to characters that
    survive URL paths and file cells. Every key accepted here is found by API owner fields,
    sharing grants and imported files, which upper-case what they are given."""
    try:
        key = _CODE.validate_python(value)
    except ValidationError:
        raise PartiesError(f"invalid {what} key {value!r}: 1 to 64 characters") from None
    if not _KEY_CHARS.match(key):
        raise PartiesError(f"invalid {what} key {value!r}: use letters, digits and - _ . "
                           "starting with a letter or digit")
    return key


def slug(name: str) -> str:
    """A readable key from a name: "Ministry of Emergencies" -> "MINISTRY-OF-EMERGENCIES".
    Accents are stripped and Cyrillic transliterated; "" when nothing is left."""
    text = "".join(_CYRILLIC.get(c, c) for c in name.lower())
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^A-Z0-9]+", "-", text.upper()).strip("-")[:64].rstrip("-")


# --- organisations -----------------------------------------------------------------------------

def _organisation(session: Session, key: str) -> Organisation:
    org = session.scalar(select(Organisation).where(Organisation.key == key.strip().upper()))
    if org is None:
        raise PartiesError(f"no organisation {key!r} (see: riskatlas orgs list)")
    return org


def add_organisation(
    session: Session, name: str, *, state: str | None = None, standing: str | None = None,
    key: str | None = None, actor: str | None = "cli",
) -> Organisation:
    """Add an organisation of a state, or a body without one with an explicit standing
    (regional, partner or observer): exactly one of `state` and `standing`. The key defaults to
    a slug of the name (see `slug`) and is stored upper-case."""
    name = name.strip()
    if not name:
        raise PartiesError("an organisation needs a name")
    if (state is None) == (standing is None):
        raise PartiesError("give either the organisation's state or, for a body without a "
                           f"state, its standing ({', '.join(BODY_STANDINGS)})")
    state_code = None
    if state is not None:
        state_code = state.strip().upper()
        if session.get(State, state_code) is None:
            raise PartiesError(f"unknown state {state!r}: add it first with "
                               f"`riskatlas states add {state_code} --role ...`")
    elif standing not in BODY_STANDINGS:
        raise PartiesError(f"invalid standing {standing!r} for a body without a state: one of "
                           f"{', '.join(BODY_STANDINGS)}")
    if key is None and not slug(name):
        raise PartiesError(f"cannot make a key from the name {name!r}: give one with --key")
    org_key = normalise_key(key if key is not None else slug(name))
    if session.scalar(select(Organisation.id).where(Organisation.key == org_key)) is not None:
        raise PartiesError(f"organisation {org_key!r} already exists")
    org = Organisation(key=org_key, name={"en": name, "ru": name}, state_code=state_code,
                       standing=standing)
    session.add(org)
    session.flush()
    append(session, actor=actor, action="org.create", entity="organisation", key=org_key,
           after={"key": org_key, "name": name, "state": state_code, "standing": standing})
    return org


def set_standing(session: Session, key: str, standing: str, *,
                 actor: str | None = "cli") -> Organisation:
    """Change the standing of a body without a state; it counts from the next request."""
    org = _organisation(session, key)
    if org.state_code is not None:
        raise PartiesError(f"{org.key} stands where its state {org.state_code} does: change "
                           f"that with `riskatlas states set {org.state_code} --role ...`")
    if standing not in BODY_STANDINGS:
        raise PartiesError(f"invalid standing {standing!r}: one of {', '.join(BODY_STANDINGS)}")
    if org.standing == standing:
        raise PartiesError(f"{org.key} already has the standing {standing}")
    before = org.standing
    org.standing = standing
    append(session, actor=actor, action="org.standing", entity="organisation", key=org.key,
           before={"standing": before}, after={"standing": standing})
    return org


def list_organisations(session: Session) -> list[dict[str, Any]]:
    """Organisations with their state and standing, for `riskatlas orgs list`."""
    rows = session.execute(select(Organisation, STANDING)
                           .outerjoin(State, State.code == Organisation.state_code)
                           .order_by(Organisation.key))
    return [{"key": o.key, "name": o.name, "state": o.state_code, "standing": standing}
            for o, standing in rows]


# --- states ------------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def _russian() -> gettext.NullTranslations:
    return gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["ru"])


def _state(session: Session, code: str) -> State:
    state = session.get(State, code.strip().upper())
    if state is None:
        raise PartiesError(f"no state {code!r} in the grouping (see: riskatlas states list)")
    return state


def _check_role(role: str) -> None:
    if role not in STATE_ROLES:
        raise PartiesError(f"invalid role {role!r}: one of {', '.join(STATE_ROLES)}")


def add_state(session: Session, code: str, role: str, *, actor: str | None = "cli") -> State:
    """Add a state to the grouping by its ISO 3166-1 alpha-3 code, named in English and Russian
    from pycountry's ISO 3166 data."""
    _check_role(role)
    country = pycountry.countries.get(alpha_3=code.strip().upper())
    if country is None or len(code.strip()) != 3:
        raise PartiesError(f"unknown country {code!r}: use an ISO 3166-1 alpha-3 code "
                           "(e.g. TUR)")
    if session.get(State, country.alpha_3) is not None:
        raise PartiesError(f"state {country.alpha_3} is already in the grouping")
    # The common name where ISO has one ("Iran", not "Iran, Islamic Republic of")
    english = getattr(country, "common_name", None) or country.name
    russian = _russian().gettext(english)
    if russian == english:
        russian = _russian().gettext(country.name)
    grouping = session.scalar(select(Grouping.code).order_by(Grouping.code).limit(1))
    state = State(code=country.alpha_3, name={"en": english, "ru": russian}, role=role,
                  grouping_code=grouping)
    session.add(state)
    session.flush()
    append(session, actor=actor, action="state.create", entity="state", key=state.code,
           after={"code": state.code, "name": state.name, "role": role})
    return state


def set_state_role(session: Session, code: str, role: str, *,
                   actor: str | None = "cli") -> State:
    """Change a state's role; its organisations stand there from the next request."""
    _check_role(role)
    state = _state(session, code)
    if state.role == role:
        raise PartiesError(f"{state.code} is already {role}")
    before = state.role
    state.role = role
    append(session, actor=actor, action="state.role", entity="state", key=state.code,
           before={"role": before}, after={"role": role})
    return state


def list_states(session: Session) -> list[dict[str, Any]]:
    """States of the grouping with their names and roles, for `riskatlas states list`."""
    return [{"code": s.code, "name_en": s.name.get("en"), "name_ru": s.name.get("ru"),
             "role": s.role} for s in session.scalars(select(State).order_by(State.code))]
