"""Country codes of the event sources, all mapped to ISO 3166-1 alpha-3.

pycountry answers ISO3, ISO numeric and most English names. The sources also use codes it
does not know, kept here as small tables (from docs/events.md): Gleditsch-Ward numbers (UCDP
GED `country_id`), FIPS 10-4 (GDELT `*Geo_CountryCode`) and the names ACLED and UCDP spell
their own way. Each answer is cached: a file names few countries over millions of rows.
"""

from __future__ import annotations

import re
from functools import lru_cache

import pycountry

# Gleditsch-Ward state numbers: Central Asia, its neighbours and the partners of the grouping.
# Other codes fall back to the row's country name.
GW = {
    701: "TKM", 702: "TJK", 703: "KGZ", 704: "UZB", 705: "KAZ", 700: "AFG", 710: "CHN",
    365: "RUS", 630: "IRN", 770: "PAK", 750: "IND", 371: "ARM", 372: "GEO", 373: "AZE",
    640: "TUR", 670: "SAU", 690: "KWT", 692: "BHR", 694: "QAT", 696: "ARE", 698: "OMN",
    712: "MNG", 2: "USA", 200: "GBR", 482: "CAF", 645: "IRQ", 652: "SYR", 679: "YEM",
}

# FIPS 10-4 codes (GDELT geography), every code of the standard's last edition that names a
# country or a territory with an ISO 3166-1 code (the US minor islands all map to UMI, the
# Australian ones to AUS, Gaza and the West Bank to PSE). Many differ from ISO alpha-2 (TI is
# Tajikistan, not ISO's TJ; AU is Austria, not Australia). Kept by hand: pycountry has no FIPS,
# and no maintained package on PyPI carries the table alone.
_FIPS_TABLE = """
    AA:ABW AC:ATG AE:ARE AF:AFG AG:DZA AJ:AZE AL:ALB AM:ARM AN:AND AO:AGO AQ:ASM AR:ARG AS:AUS
    AT:AUS AU:AUT AV:AIA AY:ATA BA:BHR BB:BRB BC:BWA BD:BMU BE:BEL BF:BHS BG:BGD BH:BLZ BK:BIH
    BL:BOL BM:MMR BN:BEN BO:BLR BP:SLB BQ:UMI BR:BRA BT:BTN BU:BGR BV:BVT BX:BRN BY:BDI CA:CAN
    CB:KHM CD:TCD CE:LKA CF:COG CG:COD CH:CHN CI:CHL CJ:CYM CK:CCK CM:CMR CN:COM CO:COL CQ:MNP
    CR:AUS CS:CRI CT:CAF CU:CUB CV:CPV CW:COK CY:CYP DA:DNK DJ:DJI DO:DMA DQ:UMI DR:DOM EC:ECU
    EG:EGY EI:IRL EK:GNQ EN:EST ER:ERI ES:SLV ET:ETH EZ:CZE FG:GUF FI:FIN FJ:FJI FK:FLK FM:FSM
    FO:FRO FP:PYF FQ:UMI FR:FRA FS:ATF GA:GMB GB:GAB GG:GEO GH:GHA GI:GIB GJ:GRD GK:GGY GL:GRL
    GM:DEU GP:GLP GQ:GUM GR:GRC GT:GTM GV:GIN GY:GUY GZ:PSE HA:HTI HK:HKG HM:HMD HO:HND HQ:UMI
    HR:HRV HU:HUN IC:ISL ID:IDN IM:IMN IN:IND IO:IOT IR:IRN IS:ISR IT:ITA IV:CIV IZ:IRQ JA:JPN
    JE:JEY JM:JAM JN:SJM JO:JOR JQ:UMI KE:KEN KG:KGZ KN:PRK KQ:UMI KR:KIR KS:KOR KT:CXR KU:KWT
    KV:XKX KZ:KAZ LA:LAO LE:LBN LG:LVA LH:LTU LI:LBR LO:SVK LQ:UMI LS:LIE LT:LSO LU:LUX LY:LBY
    MA:MDG MB:MTQ MC:MAC MD:MDA MF:MYT MG:MNG MH:MSR MI:MWI MJ:MNE MK:MKD ML:MLI MN:MCO MO:MAR
    MP:MUS MQ:UMI MR:MRT MT:MLT MU:OMN MV:MDV MX:MEX MY:MYS MZ:MOZ NC:NCL NE:NIU NF:NFK NG:NER
    NH:VUT NI:NGA NL:NLD NN:SXM NO:NOR NP:NPL NR:NRU NS:SUR NU:NIC NZ:NZL OD:SSD PA:PRY PC:PCN
    PE:PER PK:PAK PL:POL PM:PAN PO:PRT PP:PNG PS:PLW PU:GNB QA:QAT RE:REU RI:SRB RM:MHL RN:MAF
    RO:ROU RP:PHL RQ:PRI RS:RUS RW:RWA SA:SAU SB:SPM SC:KNA SE:SYC SF:ZAF SG:SEN SH:SHN SI:SVN
    SL:SLE SM:SMR SN:SGP SO:SOM SP:ESP ST:LCA SU:SDN SV:SJM SW:SWE SX:SGS SY:SYR SZ:CHE TB:BLM
    TD:TTO TH:THA TI:TJK TK:TCA TL:TKL TN:TON TO:TGO TP:STP TS:TUN TT:TLS TU:TUR TV:TUV TW:TWN
    TX:TKM TZ:TZA UC:CUW UG:UGA UK:GBR UP:UKR US:USA UV:BFA UY:URY UZ:UZB VC:VCT VE:VEN VI:VGB
    VM:VNM VQ:VIR VT:VAT WA:NAM WE:PSE WF:WLF WI:ESH WQ:UMI WS:WSM WZ:SWZ YM:YEM ZA:ZMB ZI:ZWE
"""
FIPS = {code: iso3 for code, _, iso3 in (p.partition(":") for p in _FIPS_TABLE.split())}
# FIPS codes of areas with no country of their own (the sovereign base areas on Cyprus,
# disputed and uninhabited islands, oceans): GDELT places an event there, not in a country.
FIPS_NOT_A_COUNTRY = frozenset({"AX", "DX", "PJ", "PF", "PG", "BS", "EU", "GO", "JU", "TE",
                                "IP", "OS", "OO"})

# Names pycountry does not know, as ACLED and UCDP write them (UCDP's former names in
# brackets, "Russia (Soviet Union)", are dropped before the look-up).
NAMES = {
    "russia": "RUS", "turkey": "TUR", "kosovo": "XKX", "ivory coast": "CIV",
    "democratic republic of congo": "COD", "dr congo": "COD", "republic of congo": "COG",
    "congo": "COG", "palestine": "PSE", "micronesia": "FSM", "cape verde": "CPV",
    "swaziland": "SWZ", "macedonia": "MKD", "east timor": "TLS", "burma": "MMR",
    "north korea": "PRK", "bosnia-herzegovina": "BIH", "vatican city": "VAT",
    "turkiye": "TUR", "türkiye": "TUR", "brunei": "BRN", "macau": "MAC",
    "falkland islands": "FLK", "caribbean netherlands": "BES", "saint-barthelemy": "BLM",
    "saint-martin": "MAF", "sint maarten": "SXM", "aland islands": "ALA",
    "bailiwick of guernsey": "GGY", "bailiwick of jersey": "JEY",
    "yemen (north yemen)": "YEM", "serbia (yugoslavia)": "SRB", "cambodia (kampuchea)": "KHM",
}
# The grouping's working language: the C5, their neighbours and partners in Russian, for the
# files analysts write by hand (episodes, reports).
NAMES.update({
    "казахстан": "KAZ", "республика казахстан": "KAZ", "кыргызстан": "KGZ",
    "киргизия": "KGZ", "кыргызская республика": "KGZ", "таджикистан": "TJK",
    "республика таджикистан": "TJK", "туркменистан": "TKM", "туркмения": "TKM",
    "узбекистан": "UZB", "республика узбекистан": "UZB", "афганистан": "AFG",
    "россия": "RUS", "российская федерация": "RUS", "китай": "CHN", "кнр": "CHN",
    "иран": "IRN", "пакистан": "PAK", "индия": "IND", "азербайджан": "AZE",
    "турция": "TUR", "монголия": "MNG", "саудовская аравия": "SAU", "катар": "QAT",
    "оаэ": "ARE", "объединённые арабские эмираты": "ARE", "объединенные арабские эмираты": "ARE",
    "кувейт": "KWT", "бахрейн": "BHR", "оман": "OMN", "грузия": "GEO", "армения": "ARM",
})
ISO_EXTRA = {"XKX": "XKX"}  # Kosovo: a user-assigned code ACLED uses, not in ISO 3166
NUMERIC_EXTRA = {"0": "XKX"}  # ACLED gives Kosovo the ISO numeric 0

_BRACKETS = re.compile(r"\s*\(.*\)\s*$")


class UnknownCountry(ValueError):
    pass


@lru_cache(maxsize=4096)
def from_name(name: str) -> str:
    """An English country name (ACLED, UCDP), or a Russian one of the region -> ISO3."""
    text = " ".join(name.split())
    for candidate in (text, _BRACKETS.sub("", text)):
        if not candidate:
            continue
        if candidate.lower() in NAMES:
            return NAMES[candidate.lower()]
        try:
            return str(pycountry.countries.lookup(candidate).alpha_3)
        except LookupError:
            continue
    raise UnknownCountry(f"unknown country name {name!r}")


@lru_cache(maxsize=1024)
def from_iso3(code: str) -> str:
    code = code.strip().upper()
    if code in ISO_EXTRA or pycountry.countries.get(alpha_3=code) is not None:
        return code
    raise UnknownCountry(f"unknown ISO 3166-1 alpha-3 code {code!r}")


@lru_cache(maxsize=1024)
def from_numeric(code: str) -> str:
    text = code.strip()
    if text in NUMERIC_EXTRA:
        return NUMERIC_EXTRA[text]
    if not text.isdigit():
        raise UnknownCountry(f"not an ISO 3166-1 numeric code: {code!r}")
    found = pycountry.countries.get(numeric=text.zfill(3))
    if found is None:
        raise UnknownCountry(f"unknown ISO 3166-1 numeric code {code!r}")
    return str(found.alpha_3)


def from_fips(code: str) -> str:
    try:
        return FIPS[code.strip().upper()]
    except KeyError:
        raise UnknownCountry(f"FIPS 10-4 code {code!r} is not in the table of "
                             "riskatlas.warning.countries.FIPS") from None


def from_gw(code: str, name: str | None = None) -> str:
    """A Gleditsch-Ward number (UCDP `country_id`) -> ISO3; a code outside the table falls
    back to the country name given beside it."""
    text = code.strip()
    if text.isdigit() and int(text) in GW:
        return GW[int(text)]
    if name:
        return from_name(name)
    raise UnknownCountry(f"Gleditsch-Ward code {code!r} is not in the table and no country "
                         "name was given")
