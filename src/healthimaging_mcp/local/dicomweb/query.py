"""QIDO-RS query parameters → a checked `Query`: match keys, fields to return, paging.

Attributes are named by keyword (``PatientName``) or tag (``00100010``). A search may match attributes of
its own level and the levels above it (a series search may match PatientName, a study search may not
match Modality: studies match ModalitiesInStudy). Unknown parameters and malformed values are refused
with a reason; unknown ``includefield`` attributes are skipped, as the standard asks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

from ...dicom.dicom_json import attribute_vr
from ...dicom.keys import is_hex_key, keyword_or_hex, tag_of
from ...dicom.levels import level_of
from ..errors import ValidationError
from .matching import MatchKey, match_key


class Level(IntEnum):
    """Query levels, outermost first: an attribute may be matched at its own level or a deeper one."""

    STUDY = 1
    SERIES = 2
    INSTANCE = 3

    @property
    def noun(self) -> str:
        return {Level.STUDY: "study", Level.SERIES: "series", Level.INSTANCE: "instance"}[self]

    @property
    def resource(self) -> str:
        return {Level.STUDY: "studies", Level.SERIES: "series", Level.INSTANCE: "instances"}[self]


MAX_LIMIT = 1000
MAX_OFFSET = 1_000_000
MAX_INCLUDE_FIELDS = 50
RESERVED = frozenset({"limit", "offset", "fuzzymatching", "includefield"})

STUDY_COMPUTED = ("ModalitiesInStudy", "NumberOfStudyRelatedSeries", "NumberOfStudyRelatedInstances")
SERIES_COMPUTED = ("NumberOfSeriesRelatedInstances",)
COMPUTED = frozenset({*STUDY_COMPUTED, *SERIES_COMPUTED, "InstanceAvailability", "RetrieveURL"})
_MATCHABLE_COMPUTED = {"ModalitiesInStudy": Level.STUDY}
_LEVEL_OF = {"Patient": Level.STUDY, "Study": Level.STUDY, "Series": Level.SERIES, "Instance": Level.INSTANCE}


@dataclass
class Query:
    level: Level
    matches: list[MatchKey] = field(default_factory=list)
    include_all: bool = False
    include: list[str] = field(default_factory=list)
    limit: int = MAX_LIMIT
    offset: int = 0
    warnings: list[str] = field(default_factory=list)

    @property
    def returned_keys(self) -> list[str]:
        """Match keys and includefield keys, in the order given (the level's defaults come on top)."""
        return [*(m.key for m in self.matches), *self.include]


def attribute_key(name: str) -> str | None:
    """The metadata key (keyword, or 8 hex digits) a query names by keyword or tag; None if it names none."""
    if is_hex_key(name):
        return keyword_or_hex(int(name, 16))
    return name if tag_of(name) is not None else None


def attribute_level(key: str) -> Level:
    if key in _MATCHABLE_COMPUTED:
        return _MATCHABLE_COMPUTED[key]
    tag = tag_of(key)
    return Level.INSTANCE if tag is None else _LEVEL_OF[level_of(tag)]


def parse_query(params: dict[str, list[str]], level: Level) -> Query:
    query = Query(level)
    fuzzy = _flag(params, "fuzzymatching")
    for name, values in params.items():
        if name in RESERVED:
            continue
        if "." in name:
            raise ValidationError(f"{name}: matching inside sequences is not supported; match top-level attributes")
        key = attribute_key(name)
        if key is None:
            raise ValidationError(
                f"Unknown query parameter '{name}': use DICOM keywords or tags, or limit, offset, fuzzymatching, "
                "includefield"
            )
        if key in COMPUTED and key not in _MATCHABLE_COMPUTED:
            raise ValidationError(f"{key} is computed by the service and cannot be matched")
        if attribute_level(key) > level:
            raise ValidationError(_too_deep(key, level))
        if len(values) > 1:
            raise ValidationError(f"{key} is given {len(values)} times; give it once (list UIDs with commas)")
        text = values[0]
        query.matches.append(
            match_key(key, attribute_vr(key, text, {}), text, fuzzy=fuzzy, uid_list=key == "ModalitiesInStudy")
        )
    _includes(query, params.get("includefield", []))
    query.limit = _integer(params, "limit", MAX_LIMIT, minimum=1)
    if query.limit > MAX_LIMIT:
        query.warnings.append(f"limit {query.limit} is above the maximum; {MAX_LIMIT} results at most are returned")
        query.limit = MAX_LIMIT
    query.offset = _integer(params, "offset", 0, minimum=0)
    if query.offset > MAX_OFFSET:
        raise ValidationError(f"offset must be at most {MAX_OFFSET:,}")
    return query


def _too_deep(key: str, level: Level) -> str:
    own = attribute_level(key)
    hint = " (studies match ModalitiesInStudy)" if key == "Modality" else ""
    return (
        f"{key} is a {own.noun} attribute and cannot be matched in a {level.noun} search{hint}; "
        f"search {own.resource} to match it"
    )


def _includes(query: Query, values: list[str]) -> None:
    names = [name.strip() for value in values for name in value.split(",") if name.strip()]
    if len(names) > MAX_INCLUDE_FIELDS:
        raise ValidationError(f"includefield names {len(names)} attributes; at most {MAX_INCLUDE_FIELDS} are allowed")
    for name in names:
        if name.lower() == "all":
            query.include_all = True
            continue
        key = attribute_key(name.split(".", 1)[0])  # a sequence member brings its whole sequence
        if key is not None and key not in query.include:
            query.include.append(key)


def _flag(params: dict[str, list[str]], name: str) -> bool:
    values = params.get(name)
    if not values:
        return False
    if values[-1].lower() not in ("true", "false"):
        raise ValidationError(f"{name} must be true or false, not '{values[-1]}'")
    return values[-1].lower() == "true"


def _integer(params: dict[str, list[str]], name: str, default: int, *, minimum: int) -> int:
    values = params.get(name)
    if not values:
        return default
    try:
        number = int(values[-1])
    except ValueError:
        raise ValidationError(f"{name} must be a whole number, not '{values[-1]}'") from None
    if number < minimum:
        raise ValidationError(f"{name} must be at least {minimum}")
    return number
