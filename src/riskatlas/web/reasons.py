"""The services' reasons (validation problems, refusals, conflicts) in the reader's language:
the page kit the catalog's pages share (catalog.risk_pages, measure_pages, assessment_pages).

The services speak English (the API, the CLI and the logs keep it); a page shows each reason
it knows in the reader's language, through the message catalogs (catalog.po). A reason whose
wording depends on the record's kind (Russian nouns have a gender: "этот риск", "эта мера")
is translated with pgettext, the kind as context. A reason not known here is shown as it is,
marked as English.
"""

from __future__ import annotations

import re

from markupsafe import Markup, escape

from riskatlas.web import i18n


def N_(message: str) -> str:  # noqa: N802 - gettext's name for "translated where shown"
    return message


# (pattern of the service's English reason, message shown, whether the record's kind is its
# context); {0}.. in the message are the pattern's groups.
_ENTRIES: list[tuple[str, str, bool]] = [
    (r"^required field is missing$", N_("This field is required."), False),
    (r"^String should have at least 1 character", N_("This field is required."), False),
    (r"^missing text in (.+)$", N_("Text is missing in: {0}."), False),
    (r"^expected one of (.+), got .+$", N_("Choose one of: {0}."), False),
    (r"^expected a date as YYYY-MM-DD, YYYY-MM or YYYY", N_(
        "Give a date as YYYY-MM-DD, YYYY-MM or YYYY."), False),
    (r"is not a real date", N_("This date does not exist."), False),
    (r"^String should match pattern '\^https\?", N_(
        "Give a web address that starts with http:// or https://."), False),
    (r"^String should match pattern", N_("This value is not in the expected form."), False),
    (r"^List should have at least 1 item", N_("Give at least one."), False),
    (r"^unknown (?:actor|state|measure|risk|organisation) '(.+)'$", N_("Unknown key: {0}."),
     False),
    (r"is listed twice", N_("A value is listed twice."), False),
    (r"^a RED record is read only", N_(
        "A RED record must name its readers; set them through the API or an import."), False),
    (r"^Input should be less than or equal to (\d+)", N_("Give a number of at most {0}."),
     False),
    (r"^Input should be greater than or equal to (\d+)", N_("Give a number of at least {0}."),
     False),
    (r"^Input should be a valid integer", N_("Give a whole number."), False),
    # refusals (catalog.importer._refusal, catalog.checks)
    (r"^owned by (\S+): as its lead organisation, (\S+) changes only its", N_(
        "Owned by {0}: as its lead organisation, {1} changes only its status and progress."),
     False),
    (r"^owned by (\S+): only its editors change it", N_(
        "Owned by {0}: only its editors change it; other organisations propose changes "
        "instead."), True),
    (r"^the (\w+) role cannot", N_("Your role ({0}) does not allow this change."), False),
    (r"^the owner organisation cannot be changed$", N_(
        "The owner organisation cannot be changed."), False),
    (r"^only organisations of (\w+) set", N_(
        "Only organisations of {0} set its national assessment."), False),
    (r"^only editors and analysts of that state's organisations", N_(
        "Only editors and analysts of that state's organisations set its national "
        "assessment."), False),
    # conflicts (catalog.checks.version_problem, catalog.edits.Conflict)
    (r"^stored version (\d+), file has", N_(
        "Changed meanwhile (now version {0}): reload it and make your change again."), True),
    (r"^(\S+) was changed by someone else", N_(
        "{0} was changed by someone else meanwhile: reload it and make your change again."),
     True),
    (r"^[\w.]+: cannot be changed$", N_("This field cannot be changed here."), False),
]
REASONS: list[tuple[re.Pattern[str], str, bool]] = [
    (re.compile(p), m, by_kind) for p, m, by_kind in _ENTRIES]


def explain(reason: str, lang: str, kind: str | None = None) -> Markup:
    """`reason` in `lang` (`kind`: "risk" or "measure", for reasons worded by the kind)."""
    translations = i18n.translations(lang)
    for pattern, message, by_kind in REASONS:
        found = pattern.search(reason)
        if found:
            text = (translations.pgettext(kind, message) if by_kind and kind
                    else translations.gettext(message))
            return escape(text.format(*found.groups()))
    if lang == "en":
        return escape(reason)
    return Markup('<span lang="en">{}</span>').format(reason)
