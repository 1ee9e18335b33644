"""Load data/contraindications.yml into the database: validated, idempotent, in one transaction.

The database ends up holding exactly what the file says: new entries and synonyms are added,
changed ones updated, and entries, synonyms and sources no longer in the file are removed.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Union

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from bot.contraindications.models import KINDS, LEVELS, Condition, Source, Synonym
from bot.contraindications.repository import ConditionInfo
from bot.db.engine import session_scope
from bot.settings import PROJECT_ROOT

DEFAULT_DATA_FILE = PROJECT_ROOT / "data" / "contraindications.yml"
FORMAT_VERSION = 1

_KEY = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_SOURCE_ID = re.compile(r"^[A-Za-z0-9_]{1,32}$")
# Rasa reads every YAML file under data/ that has one of these keys (at any indentation).
_RASA_KEYS = ("nlu", "stories", "rules", "responses")
# Claims the clinical reference forbids; the bot never concludes that a visitor is eligible or safe.
_FORBIDDEN_CLAIMS = re.compile(
    r"you(?:'re| are) (?:safe|eligible|fine|ok)|no problem|completely safe|100 ?% safe|"
    r"no side effects|miracle|painless|permanent (?:cure|recovery)",
    re.IGNORECASE,
)


class DataFileError(ValueError):
    """The data file is malformed; the message lists every problem found."""


@dataclass(frozen=True)
class SourceSpec:
    id: str
    title: str


# An entry as read from the data file is the same plain record the actions read back.
ConditionSpec = ConditionInfo


@dataclass(frozen=True)
class DataFile:
    sources: Tuple[SourceSpec, ...]
    conditions: Tuple[ConditionSpec, ...]


@dataclass
class LoadReport:
    conditions: int = 0
    medicines: int = 0
    synonyms: int = 0
    sources: int = 0
    added: List[str] = field(default_factory=list)
    updated: List[str] = field(default_factory=list)
    removed: List[str] = field(default_factory=list)
    synonyms_added: int = 0
    synonyms_removed: int = 0
    sources_changed: int = 0

    @property
    def changed(self) -> bool:
        return bool(
            self.added or self.updated or self.removed or self.synonyms_added
            or self.synonyms_removed or self.sources_changed
        )

    def summary(self) -> str:
        return (
            f"{self.conditions} conditions, {self.medicines} medicines, {self.synonyms} synonyms, "
            f"{self.sources} sources; added {len(self.added)}, updated {len(self.updated)}, "
            f"removed {len(self.removed)}, synonyms +{self.synonyms_added} "
            f"-{self.synonyms_removed}, sources changed {self.sources_changed}"
        )


def normalise_phrase(phrase: str) -> str:
    return " ".join(phrase.lower().split())


def _text(value: Any) -> str:
    return " ".join(str(value).split()) if isinstance(value, (str, int, float)) else ""


def parse_data(raw: Any, origin: str = "<data>") -> DataFile:
    """Validate the parsed YAML; raise DataFileError listing every problem."""
    problems: List[str] = []
    if not isinstance(raw, dict):
        raise DataFileError(f"{origin}: expected a mapping with 'sources' and 'conditions'")
    for key in _RASA_KEYS:
        if key in raw:
            problems.append(f"top-level key '{key}' is not allowed (Rasa would read this file)")
    unexpected = set(raw) - {"format_version", "sources", "conditions"} - set(_RASA_KEYS)
    if unexpected:
        problems.append(f"unexpected top-level keys: {sorted(unexpected)}")
    if raw.get("format_version") != FORMAT_VERSION:
        problems.append(f"format_version must be {FORMAT_VERSION}")

    sources: List[SourceSpec] = []
    for n, item in enumerate(raw.get("sources") or []):
        item = item if isinstance(item, dict) else {}
        sid, title = _text(item.get("id")), _text(item.get("title"))
        if not _SOURCE_ID.match(sid) or not title:
            problems.append(f"sources[{n}]: needs an id (letters, digits, _) and a title")
            continue
        if sid in {s.id for s in sources}:
            problems.append(f"sources[{n}]: duplicate id {sid}")
        sources.append(SourceSpec(sid, title))
    source_ids = {s.id for s in sources}

    conditions: List[ConditionSpec] = []
    owner: Dict[str, str] = {}
    for n, item in enumerate(raw.get("conditions") or []):
        where = f"conditions[{n}]"
        if not isinstance(item, dict):
            problems.append(f"{where}: expected a mapping")
            continue
        key = _text(item.get("key"))
        where = f"conditions[{n}] ({key or '?'})"
        if not _KEY.match(key):
            problems.append(f"{where}: key must be lower_snake_case")
        if key in {c.key for c in conditions}:
            problems.append(f"{where}: duplicate key")
        kind, level = _text(item.get("kind")), _text(item.get("level"))
        if kind not in KINDS:
            problems.append(f"{where}: kind must be one of {KINDS}")
        if level not in LEVELS:
            problems.append(f"{where}: level must be one of {LEVELS}")
        name, explanation = _text(item.get("name")), _text(item.get("explanation"))
        if not name or len(name) > 200:
            problems.append(f"{where}: name is required (at most 200 characters)")
        if not explanation:
            problems.append(f"{where}: explanation is required")
        for text in (name, explanation):
            claim = _FORBIDDEN_CLAIMS.search(text)
            if claim:
                problems.append(f"{where}: states a claim the bot never makes: {claim.group(0)!r}")
        refs = tuple(_text(s) for s in item.get("sources") or [])
        if not refs:
            problems.append(f"{where}: needs at least one source id")
        for ref in refs:
            if ref not in source_ids:
                problems.append(f"{where}: unknown source id {ref!r}")
        synonyms: List[str] = []
        for raw_phrase in item.get("synonyms") or []:
            phrase = normalise_phrase(_text(raw_phrase))
            if not phrase or len(phrase) > 200:
                problems.append(f"{where}: empty or too long synonym {raw_phrase!r}")
            elif phrase in synonyms:
                continue
            elif phrase in owner:
                problems.append(f"{where}: synonym {phrase!r} already belongs to {owner[phrase]}")
            else:
                owner[phrase] = key
                synonyms.append(phrase)
        if not synonyms:
            problems.append(f"{where}: needs at least one synonym")
        conditions.append(
            ConditionSpec(key, kind, name, level, explanation, tuple(dict.fromkeys(refs)),
                          tuple(synonyms))
        )
    if not conditions:
        problems.append("no conditions")
    if problems:
        raise DataFileError(f"{origin}:\n  " + "\n  ".join(problems))
    return DataFile(tuple(sources), tuple(conditions))


def read_data_file(path: Union[str, Path] = DEFAULT_DATA_FILE) -> DataFile:
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    clashes = [
        line.strip()
        for line in text.splitlines()
        if any(line.lstrip().startswith(f"{key}:") for key in _RASA_KEYS)
    ]
    if clashes:
        raise DataFileError(f"{path}: lines Rasa would take for training data: {clashes}")
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise DataFileError(f"{path}: not valid YAML: {error}") from error
    return parse_data(raw, str(path))


def sync(session: Session, data: DataFile) -> LoadReport:
    """Make the tables hold exactly `data`. Runs inside the caller's transaction."""
    report = LoadReport()
    sources = {s.id: s for s in session.execute(select(Source)).scalars()}
    for spec in data.sources:
        row = sources.get(spec.id)
        if row is None:
            sources[spec.id] = row = Source(id=spec.id, title=spec.title)
            session.add(row)
            report.sources_changed += 1
        elif row.title != spec.title:
            row.title = spec.title
            report.sources_changed += 1

    existing = {
        c.key: c
        for c in session.execute(
            select(Condition).options(
                selectinload(Condition.synonyms), selectinload(Condition.sources)
            )
        ).scalars()
    }
    wanted = {spec.key: spec for spec in data.conditions}

    # Removals first and flushed, so a synonym can move from one entry to another in one load.
    for key, row in existing.items():
        if key not in wanted:
            session.delete(row)
            report.removed.append(key)
    for key, spec in wanted.items():
        row = existing.get(key)
        if row is None:
            continue
        for synonym in [s for s in row.synonyms if s.phrase not in spec.synonyms]:
            row.synonyms.remove(synonym)
            report.synonyms_removed += 1
    session.flush()

    for position, spec in enumerate(data.conditions):
        row = existing.get(spec.key)
        if row is None:
            row = Condition(key=spec.key, synonyms=[], sources=[])
            session.add(row)
            report.added.append(spec.key)
        fields = {
            "kind": spec.kind,
            "name": spec.name,
            "level": spec.level,
            "explanation": spec.explanation,
            "position": position,
        }
        changed = any(getattr(row, attr) != value for attr, value in fields.items())
        for attr, value in fields.items():
            setattr(row, attr, value)
        if [s.id for s in row.sources] != sorted(spec.sources):
            row.sources = [sources[sid] for sid in sorted(spec.sources)]
            changed = True
        have = {s.phrase for s in row.synonyms}
        for phrase in spec.synonyms:
            if phrase not in have:
                row.synonyms.append(Synonym(phrase=phrase))
                report.synonyms_added += 1
        if changed and spec.key not in report.added:
            report.updated.append(spec.key)
    session.flush()

    wanted_sources = {s.id for s in data.sources}
    for sid, row in sources.items():
        if sid not in wanted_sources:
            session.delete(row)
            report.sources_changed += 1

    report.conditions = sum(1 for c in data.conditions if c.kind == "condition")
    report.medicines = sum(1 for c in data.conditions if c.kind == "medicine")
    report.synonyms = sum(len(c.synonyms) for c in data.conditions)
    report.sources = len(data.sources)
    return report


def load(
    path: Union[str, Path] = DEFAULT_DATA_FILE, url: Optional[str] = None, migrate: bool = True
) -> LoadReport:
    """Migrate the database at `url` (default: DB_URL) to head, then load the data file into it."""
    data = read_data_file(path)  # validate before touching the database
    if migrate:
        from bot.db.migrate import upgrade

        upgrade(url)
    with session_scope(url) as session:
        return sync(session, data)
