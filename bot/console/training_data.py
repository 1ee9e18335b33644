"""Staff corrections into the training data files, as a diff a person reviews and commits.

Pending `Correction` and `FaqEntry` rows (bot/console/models.py) become:

- examples appended to their intent's block in `data/nlu.yml`, and a new `faq/<key>` block
  (after the last FAQ block) for each new question;
- `utter_faq/<key>` in `data/faq_responses.yml`, with the same `metadata` (title, sources) as the
  hand-written answers.

The files are edited by inserting lines, never by re-dumping YAML, so everything else in them
(comments, quoting, order, blank lines) stays byte for byte as it was and the diff shows only
what staff taught. Every edit is checked by parsing the result: the examples and answers must be
exactly the old ones plus the new ones, or nothing is written.

Nothing else needs writing. data/rules.yml's rule "answer a FAQ" (`intent: faq` ->
`action_answer`) covers every `faq/<key>` retrieval intent, and `action_answer` sends whichever
`utter_faq/<key>` the classifier picked (actions/faq.py); domain.yml lists `faq` once, and
Rasa collects the `utter_faq/*` responses from data/. So: no rule, story or domain change.

`ignore` corrections are never written; an export settles them so they leave the pending list.
An example that is already in the training data under the same intent is settled without a
change; one that belongs to another intent stays pending with the reason (a phrasing can teach
one meaning only). A new question stays pending while its answer fails the content checks or
fewer than MIN_EXAMPLES of its phrasings are new.
"""
from __future__ import annotations

import difflib
import json
import os
import re
import shutil
import sys
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Set, Tuple

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.console.models import Correction, FaqEntry, utcnow
from bot.content.checks import (
    MIN_EXAMPLES,
    SOURCES,
    answer_problems,
    example_problems,
    normalize_example,
    title_problems,
)

NLU_FILE = "nlu.yml"
RESPONSES_FILE = "faq_responses.yml"
FAQ_PREFIX = "faq/"

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_INTENT_LINE = re.compile(r"- intent:\s*(?P<name>[^\s#'\"]+)\s*$")
_EXAMPLES_KEY = re.compile(r"(?P<indent>\s+)examples:\s*\|[-+]?\s*$")
_PLAIN_ID = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
# Control, surrogate, private-use and unassigned characters: not allowed in (or not meaningful
# in) YAML text.
_UNPRINTABLE = frozenset({"Cc", "Cs", "Co", "Cn"})


class ExportError(Exception):
    """The training data files have a layout the exporter can't edit safely, or changed."""


@dataclass(frozen=True)
class Skipped:
    """A pending item the export did not write, and why.

    `pending`: it stays pending (something needs fixing); otherwise the export settles it
    (ignored, or already in the training data).
    """

    item: str  # "correction 12" or "new question 3"
    text: str
    reason: str
    pending: bool


@dataclass
class ExportPlan:
    data_dir: Path
    # File name in data_dir -> its new text (changed files only), and the texts planned from.
    files: Dict[str, str]
    originals: Dict[str, str]
    diff: str
    # What this export settles: written, ignored, or already in the training data.
    correction_ids: List[int]
    faq_entry_ids: List[int]
    skipped: List[Skipped]
    # Intent -> the examples added to it.
    added: Dict[str, List[str]] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return bool(self.files)


@dataclass(frozen=True)
class FaqResponse:
    title: str
    text: str
    sources: Tuple[str, ...]


# --- reading the training data ----------------------------------------------------------------


def training_data_dir() -> Path:
    """The data/ directory the console teaches into (TRAINING_ROOT, the project by default)."""
    from bot.settings import get_settings

    return get_settings().training_root / "data"


def _read(path: Path) -> str:
    # Bytes decoded as they are: line endings and everything else kept exactly.
    return path.read_bytes().decode("utf-8")


def _examples_of(text: str) -> Dict[str, List[str]]:
    """Intent -> examples, read the way Rasa's RasaYAMLReader reads a multi-line block."""
    data = yaml.load(text, Loader=_Loader) or {}
    examples: Dict[str, List[str]] = defaultdict(list)
    for block in data.get("nlu") or []:
        if not isinstance(block, dict) or "intent" not in block:
            continue
        value = block.get("examples") or ""
        if isinstance(value, str):
            for line in value.splitlines():
                if line.startswith("-"):
                    examples[str(block["intent"])].append(line[1:].strip("\n\r "))
        else:
            examples[str(block["intent"])].extend(str(e.get("text", "")).strip() for e in value)
    return dict(examples)


def _responses_of(text: str) -> Dict[str, FaqResponse]:
    responses = (yaml.load(text, Loader=_Loader) or {}).get("responses") or {}
    found = {}
    for name, variations in responses.items():
        if str(name).startswith("utter_" + FAQ_PREFIX) and variations:
            first = variations[0]
            meta = first.get("metadata") or {}
            found[str(name)[len("utter_" + FAQ_PREFIX):]] = FaqResponse(
                title=str(meta.get("title") or ""),
                text=str(first.get("text") or ""),
                sources=tuple(str(s) for s in meta.get("sources") or ()),
            )
    return found


def read_examples(data_dir: Path) -> Dict[str, List[str]]:
    """Every intent of data/nlu.yml (full names, `faq/<key>` included) with its examples."""
    return _examples_of(_read(Path(data_dir) / NLU_FILE))


def read_faq_responses(data_dir: Path) -> Dict[str, FaqResponse]:
    """`<key>` -> the answer of `utter_faq/<key>` in data/faq_responses.yml."""
    return _responses_of(_read(Path(data_dir) / RESPONSES_FILE))


def faq_keys(data_dir: Path) -> Set[str]:
    """Keys taken in the training data (as an intent or as an answer)."""
    intents = read_examples(data_dir)
    return {i[len(FAQ_PREFIX):] for i in intents if i.startswith(FAQ_PREFIX)} | set(
        read_faq_responses(data_dir)
    )


def clean_text(text: str) -> str:
    """One line of printable text: runs of whitespace (line breaks included) become one space and
    control characters go, so a phrasing can't break out of its line in the YAML files."""
    kept = "".join(
        ch for ch in (text or "")
        if ch.isspace() or (unicodedata.category(ch) not in _UNPRINTABLE and ch != "\ufeff")
    )
    return " ".join(kept.split())


# --- planning ---------------------------------------------------------------------------------


@dataclass
class _Block:
    """Where an intent's block sits in data/nlu.yml (0-based line indexes)."""

    last_example: int  # new examples go after this line
    end: int  # the block's last non-blank line
    key_indent: str  # before `examples: |`
    item_prefix: str  # before each example: indentation and "- "


def _scan_nlu(lines: Sequence[str]) -> Tuple[Dict[str, _Block], List[str]]:
    """The last block of each intent, and the intents in file order."""
    blocks: Dict[str, _Block] = {}
    order: List[str] = []
    index = 0
    while index < len(lines):
        match = _INTENT_LINE.fullmatch(lines[index].rstrip("\r\n"))
        if not match:
            index += 1
            continue
        name = match.group("name")
        start, index = index, index + 1
        key_indent = item_prefix = None
        last_example = end = start
        while index < len(lines):
            line = lines[index].rstrip("\r\n")
            if line.strip() and not line[0].isspace():
                break  # the next top-level item
            if line.strip():
                end = index
            key = _EXAMPLES_KEY.fullmatch(line)
            if key:
                key_indent = key.group("indent")
                last_example = index
                index += 1
                while index < len(lines):
                    line = lines[index].rstrip("\r\n")
                    indent = len(line) - len(line.lstrip(" "))
                    if line.strip() and indent <= len(key_indent):
                        break
                    if line.strip():
                        end = index
                        if line.lstrip(" ").startswith("- "):
                            item_prefix = item_prefix or line[: indent + 2]
                            last_example = index
                    index += 1
                continue
            index += 1
        if key_indent is None:
            raise ExportError(
                f"{NLU_FILE}, line {start + 1}: the intent {name} has no `examples: |` block."
            )
        blocks[name] = _Block(last_example, end, key_indent, item_prefix or key_indent + "  - ")
        order.append(name)
    return blocks, order


def _insert(lines: List[str], insertions: Dict[int, List[str]], newline: str) -> str:
    """Lines with `insertions` (after line index -> new lines) applied, bottom up."""
    lines = list(lines)
    for after in sorted(insertions, reverse=True):
        if not lines[after].endswith("\n"):
            lines[after] += newline
        lines[after + 1: after + 1] = insertions[after]
    return "".join(lines)


def _newline(text: str) -> str:
    return "\r\n" if "\r\n" in text else "\n"


def _quoted(text: str) -> str:
    """A YAML double-quoted scalar (JSON string syntax is valid YAML)."""
    return json.dumps(text, ensure_ascii=False)


def _source_id(source: str) -> str:
    return source if _PLAIN_ID.fullmatch(source) else _quoted(source)


def _new_nlu_text(
    text: str, added: Dict[str, List[str]], new_keys: Sequence[str]
) -> str:
    lines = text.splitlines(keepends=True)
    newline = _newline(text)
    blocks, order = _scan_nlu(lines)
    insertions: Dict[int, List[str]] = defaultdict(list)
    for intent, examples in added.items():
        if intent in blocks:
            block = blocks[intent]
            insertions[block.last_example] += [f"{block.item_prefix}{e}{newline}" for e in examples]
        elif intent[len(FAQ_PREFIX):] not in new_keys:
            raise ExportError(f"{NLU_FILE}: can't find the block of the intent {intent}.")
    if new_keys:
        faq_blocks = [i for i in order if i.startswith(FAQ_PREFIX)] or order
        if not faq_blocks:
            raise ExportError(f"{NLU_FILE} has no intent to add a new question after.")
        anchor = blocks[faq_blocks[-1]]
        for key in new_keys:
            insertions[anchor.end] += [
                newline,
                f"- intent: {FAQ_PREFIX}{key}{newline}",
                f"{anchor.key_indent}examples: |{newline}",
                *[f"{anchor.item_prefix}{e}{newline}" for e in added[FAQ_PREFIX + key]],
            ]
    return _insert(lines, insertions, newline)


def _new_responses_text(text: str, entries: Sequence[FaqEntry]) -> str:
    lines = text.splitlines(keepends=True)
    newline = _newline(text)
    try:
        start = next(i for i, line in enumerate(lines) if re.match(r"responses:\s*$", line))
    except StopIteration:
        raise ExportError(f"{RESPONSES_FILE} has no top-level `responses:` mapping.") from None
    last = None
    key_indent = item_indent = None
    for index in range(start + 1, len(lines)):
        line = lines[index].rstrip("\r\n")
        if line.strip() and not line[0].isspace() and not line.startswith("#"):
            break
        if line.strip() and line[0].isspace():
            last = index
            stripped = line.lstrip(" ")
            indent = line[: len(line) - len(stripped)]
            if key_indent is None and stripped.startswith("utter_"):
                key_indent = indent
            elif key_indent is not None and item_indent is None and stripped.startswith("- "):
                item_indent = indent
    if last is None or key_indent is None or item_indent is None:
        raise ExportError(f"{RESPONSES_FILE}: no existing answer to follow the layout of.")
    new: List[str] = []
    for entry in entries:
        sources = ", ".join(_source_id(s) for s in _ordered_sources(entry.sources))
        new += [
            f"{key_indent}utter_{FAQ_PREFIX}{entry.key}:{newline}",
            f"{item_indent}- text: {_quoted(clean_text(entry.answer))}{newline}",
            f"{item_indent}  metadata:{newline}",
            f"{item_indent}    title: {_quoted(clean_text(entry.title))}{newline}",
            f"{item_indent}    sources: [{sources}]{newline}",
        ]
    return _insert(lines, {last: new}, newline)


def _ordered_sources(sources: Iterable[str]) -> List[str]:
    """The entry's source ids, in the clinical reference's order."""
    chosen = {str(s) for s in sources}
    return [s for s in SOURCES if s in chosen] + sorted(chosen - set(SOURCES))


def _diff(name: str, old: str, new: str) -> str:
    return "".join(
        difflib.unified_diff(
            old.splitlines(keepends=True), new.splitlines(keepends=True),
            fromfile=f"a/data/{name}", tofile=f"b/data/{name}",
        )
    )


@dataclass
class _Settled:
    added: Dict[str, List[str]]
    correction_ids: List[int]
    skipped: List[Skipped]


def _settle(
    corrections: Sequence[Correction],
    examples: Dict[str, List[str]],
    new_keys: Set[str],
    waiting: Dict[int, Tuple[str, str]],
) -> _Settled:
    """Which corrections become which new examples. `waiting`: FaqEntry id -> (key, why the
    new question is not written yet)."""
    taken = {}
    for intent, texts in examples.items():
        for text in texts:
            taken.setdefault(normalize_example(text), intent)
    added: Dict[str, List[str]] = defaultdict(list)
    settled: List[int] = []
    skipped: List[Skipped] = []

    def skip(correction: Correction, text: str, reason: str, pending: bool = True) -> None:
        skipped.append(Skipped(f"correction {correction.id}", text, reason, pending))
        if not pending:
            settled.append(correction.id)

    for correction in corrections:
        text = clean_text(correction.text)
        if correction.kind == "ignore":
            skip(correction, text, f"marked \"ignore\" by {correction.created_by}", pending=False)
            continue
        target = correction.intent or ""
        if correction.faq_entry_id in waiting:
            key, reason = waiting[correction.faq_entry_id]
            skip(correction, text, f"waits for its new question \"{key}\" ({reason})")
            continue
        is_new = target.startswith(FAQ_PREFIX) and target[len(FAQ_PREFIX):] in new_keys
        if target not in examples and not is_new:
            skip(correction, text, f"there is no intent \"{target}\" in the training data")
            continue
        problems = example_problems([text], minimum=1)
        if problems:
            skip(correction, text, " ".join(problems))
            continue
        owner = taken.get(normalize_example(text))
        if owner == target:
            skip(correction, text, f"already an example of {target}", pending=False)
        elif owner:
            skip(correction, text, f"already an example of {owner}: a phrasing can teach one "
                                   f"meaning only (delete this correction or edit data/{NLU_FILE})")
        else:
            taken[normalize_example(text)] = target
            added[target].append(text)
            settled.append(correction.id)
    return _Settled(dict(added), settled, skipped)


def plan_export(session: Session, data_dir: Path) -> ExportPlan:
    """What exporting the pending corrections into `data_dir` would change (nothing is written)."""
    data_dir = Path(data_dir)
    originals = {name: _read(data_dir / name) for name in (NLU_FILE, RESPONSES_FILE)}
    examples = _examples_of(originals[NLU_FILE])
    responses = _responses_of(originals[RESPONSES_FILE])
    taken_keys = {i[len(FAQ_PREFIX):] for i in examples if i.startswith(FAQ_PREFIX)}
    taken_keys |= set(responses)
    corrections = session.scalars(
        select(Correction).where(Correction.exported_at.is_(None)).order_by(Correction.id)
    ).all()
    entries = session.scalars(
        select(FaqEntry).where(FaqEntry.exported_at.is_(None)).order_by(FaqEntry.id)
    ).all()

    skipped: List[Skipped] = []
    present: List[FaqEntry] = []  # exported before (e.g. by the gate on this copy): settle only
    candidates: Dict[int, FaqEntry] = {}
    waiting: Dict[int, Tuple[str, str]] = {}  # id -> (key, why the new question is not written)
    for entry in entries:
        if entry.key in taken_keys:
            existing = responses.get(entry.key)
            if existing and clean_text(existing.text) == clean_text(entry.answer):
                present.append(entry)
                skipped.append(Skipped(f"new question {entry.id}", entry.key,
                                       "already in the training data", pending=False))
            else:
                waiting[entry.id] = (
                    entry.key, f"a different question named \"{entry.key}\" is already in the "
                               "training data: delete this one and teach it under another name")
            continue
        problems = title_problems(entry.title)
        problems += answer_problems(entry.answer, entry.sources, SOURCES)
        if problems:
            waiting[entry.id] = (entry.key, " ".join(problems))
        else:
            candidates[entry.id] = entry

    # A new question needs enough new phrasings; dropping one can only free phrasings for others.
    while True:
        result = _settle(corrections, examples, {e.key for e in candidates.values()}, waiting)
        counts = {entry_id: len(result.added.get(FAQ_PREFIX + entry.key, []))
                  for entry_id, entry in candidates.items()}
        short = {entry_id: count for entry_id, count in counts.items() if count < MIN_EXAMPLES}
        if not short:
            break
        for entry_id, count in short.items():
            waiting[entry_id] = (candidates[entry_id].key, (
                f"it has {count} new phrasing{'s' if count != 1 else ''}; "
                f"it needs at least {MIN_EXAMPLES}"
            ))
            del candidates[entry_id]
    skipped += [Skipped(f"new question {entry.id}", entry.key, waiting[entry.id][1], pending=True)
                for entry in entries if entry.id in waiting]
    skipped += result.skipped

    new_entries = list(candidates.values())
    files: Dict[str, str] = {}
    if result.added:
        files[NLU_FILE] = _new_nlu_text(
            originals[NLU_FILE], result.added, [e.key for e in new_entries])
    if new_entries:
        files[RESPONSES_FILE] = _new_responses_text(originals[RESPONSES_FILE], new_entries)
    _verify(originals, files, result.added, new_entries)
    return ExportPlan(
        data_dir=data_dir,
        files=files,
        originals=originals,
        diff="".join(_diff(name, originals[name], files[name]) for name in sorted(files)),
        correction_ids=sorted(result.correction_ids),
        faq_entry_ids=sorted([e.id for e in new_entries] + [e.id for e in present]),
        skipped=skipped,
        added=result.added,
    )


def _verify(
    originals: Dict[str, str], files: Dict[str, str], added: Dict[str, List[str]],
    new_entries: Sequence[FaqEntry],
) -> None:
    """Parse the edited files: they must hold exactly the old content plus the new."""
    if NLU_FILE in files:
        expected = {i: list(e) for i, e in _examples_of(originals[NLU_FILE]).items()}
        for intent, examples in added.items():
            expected.setdefault(intent, []).extend(examples)
        if _examples_of(files[NLU_FILE]) != expected:
            raise ExportError(f"Adding the examples to {NLU_FILE} would change other content.")
    if RESPONSES_FILE in files:
        expected_responses = dict(_responses_of(originals[RESPONSES_FILE]))
        for entry in new_entries:
            expected_responses[entry.key] = FaqResponse(
                clean_text(entry.title), clean_text(entry.answer),
                tuple(_ordered_sources(entry.sources)),
            )
        if _responses_of(files[RESPONSES_FILE]) != expected_responses:
            raise ExportError(f"Adding the answers to {RESPONSES_FILE} would change other content.")


# --- writing ----------------------------------------------------------------------------------


def write_export(plan: ExportPlan, data_dir: Path) -> None:
    """Write the plan's files, each atomically; refuse if a file changed since it was planned."""
    data_dir = Path(data_dir)
    for name in plan.files:
        if _read(data_dir / name) != plan.originals[name]:
            raise ExportError(f"data/{name} changed since this export was planned: run it again.")
    for name, text in plan.files.items():
        path = data_dir / name
        temporary = path.with_name(f".{name}.export")
        temporary.write_bytes(text.encode("utf-8"))
        shutil.copymode(path, temporary)
        os.replace(temporary, path)


def mark_exported(session: Session, plan: ExportPlan, at: Optional[datetime] = None) -> int:
    """Mark what the plan settled as exported; returns how many rows changed."""
    at = at or utcnow()
    changed = 0
    for model, ids in ((Correction, plan.correction_ids), (FaqEntry, plan.faq_entry_ids)):
        if not ids:
            continue
        for row in session.scalars(
            select(model).where(model.id.in_(ids), model.exported_at.is_(None))
        ):
            row.exported_at = at
            changed += 1
    return changed


def apply_corrections(session: Session, data_dir: Path) -> ExportPlan:
    """Plan and write the pending corrections into `data_dir` (the retrain gate's staging copy).
    Nothing is marked exported: that happens when the data goes into the project's data/."""
    plan = plan_export(session, data_dir)
    write_export(plan, data_dir)
    return plan


def describe_skipped(plan: ExportPlan) -> List[str]:
    return [
        f"{s.item} ({s.text}): {s.reason}" + (" [stays pending]" if s.pending else "")
        for s in plan.skipped
    ]


def export_training_data_command(project_root: Path, dry_run: bool) -> int:
    """`python -m bot.console export-training-data [--dry-run]`: print the diff, write data/,
    mark the corrections exported (audited as "system")."""
    from bot.console.audit import audit
    from bot.db.engine import session_scope

    data_dir = Path(project_root) / "data"
    try:
        with session_scope() as session:
            plan = plan_export(session, data_dir)
            if plan.diff:
                print(plan.diff, end="")
            else:
                print("No new training examples or answers to write.")
            for line in describe_skipped(plan):
                print(f"skipped: {line}")
            if dry_run:
                print("Dry run: nothing written.")
                return 0
            write_export(plan, data_dir)
            marked = mark_exported(session, plan)
            audit(
                session, "system", "export_training_data", str(data_dir),
                corrections=plan.correction_ids, faq_entries=plan.faq_entry_ids,
                examples=sum(len(e) for e in plan.added.values()),
                pending=sum(1 for s in plan.skipped if s.pending),
            )
    except ExportError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if plan.changed:
        print(f"Wrote {', '.join(f'data/{n}' for n in sorted(plan.files))}; "
              f"{marked} item(s) marked exported.")
        print("Review the change with `git diff data/`, then commit it.")
    elif marked:
        print(f"{marked} item(s) marked exported; the data files did not change.")
    return 0
