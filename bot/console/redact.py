"""Personal data in visitor messages: emails, phone numbers, dates of birth and street addresses.

Every console view and export shows messages through `redact`, so staff see what was asked without
who asked it. Detection is deliberately a little eager for the four kinds (any full calendar date
counts as a possible date of birth; a year counts only after "born"/"DOB"), and deliberately blind
to the numbers a ketamine FAQ is full of: doses ("0.5 mg/kg"), counts ("6 sessions over 2
weeks"), durations, prices, years on their own, and the crisis lines 988 and 911.
"""
from __future__ import annotations

import re
from typing import Callable, Iterator, List, Tuple

Span = Tuple[int, int]

PLACEHOLDERS = {
    "email": "[email]",
    "phone": "[phone]",
    "date": "[date]",
    "address": "[address]",
}

_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_DAY = r"(?:0?[1-9]|[12]\d|3[01])(?:st|nd|rd|th)?"
_YEAR = r"(?:19|20)\d{2}"

_TLD = r"(?:com|org|net|edu|gov|io|co|us|uk|ca|de|fr|au|info|me)"
# Every email pattern starts only at the start of a token (the look-behind), which keeps matching
# linear on long runs such as "a.b.a.b...".
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.IGNORECASE)
# Spelled out to dodge spam filters: "jane(at)gmail(dot)com", "jane dot doe at gmail dot com".
_SPELLED_EMAIL = re.compile(
    r"(?<![\w.+-])[\w.+-]+\s*[\[(]at[\])]\s*[\w-]+(?:(?:\.|\s*[\[(]dot[\])]\s*|\s+dot\s+)[\w-]+)+"
    r"|(?<![\w.+-])[\w.+-]+(?:\s+dot\s+[\w+-]+){0,3}\s+at\s+[\w-]+(?:(?:\.|\s+dot\s+)[\w-]+){0,4}"
    rf"\s+dot\s+{_TLD}\b",
    re.IGNORECASE,
)

_NUMERIC_DATE = re.compile(
    r"(?<![\w/.-])(?:"
    r"(?P<a>\d{1,2})[/.-](?P<b>\d{1,2})[/.-](?P<y>\d{4}|\d{2})"  # 03/14/1985, 14.03.85
    r"|(?P<iy>\d{4})[/.-](?P<im>\d{1,2})[/.-](?P<id>\d{1,2})"  # 1985-03-14
    r")(?![\w/-]|\.\d|\s*(?:mg|ml|mcg|kg|%))"
)

_NAMED_DATE = re.compile(
    rf"\b(?:{_MONTH}\s+{_DAY},?\s+(?:of\s+)?{_YEAR}"  # March 14, 1985
    rf"|{_DAY}\s+(?:of\s+)?{_MONTH},?\s+{_YEAR})\b",  # 14th of March 1985
    re.IGNORECASE,
)

# A partial date (or a bare year) said to be a birth date: "born in 1985", "DOB 3/14".
_BIRTH = re.compile(
    r"\b(?:born|birthday|birth\s*date|date\s+of\s+birth|d\.?o\.?b)\b[\s:,]*"
    r"(?:(?:is|was|on|in|of|the|:)\s+){0,3}"
    rf"(?P<date>{_MONTH}\s+{_DAY}\b|{_DAY}\s+(?:of\s+)?{_MONTH}(?!\w)"
    rf"|\d{{1,2}}[/.-]\d{{1,2}}\b|{_YEAR}\b)",
    re.IGNORECASE,
)

_STREET_SUFFIX = (
    r"(?:street|st|avenue|ave|av|road|rd|boulevard|blvd|lane|ln|drive|dr|court|ct|place|pl"
    r"|terrace|ter|way|circle|cir|parkway|pkwy|highway|hwy|square|sq|trail|trl|crescent"
    r"|cres|close|loop|alley|row|plaza|pike|grove)"
)
_ADDRESS = re.compile(
    r"(?<![\w$.,/-])\d{1,6}[a-z]?\s+"  # house number: 42, 221B
    r"(?P<name>(?:[a-z0-9][\w'.-]*\s+){1,4}?)"  # street name: one to four words
    rf"{_STREET_SUFFIX}\.?(?!\w)"
    r"(?:\s+(?:n|s|e|w|ne|nw|se|sw)\b\.?)?"
    r"(?:,?\s*(?:apt|apartment|unit|suite|ste|floor|fl|room|rm|#)\.?\s*#?\s*[\w-]+)?"
    # ", Springfield, IL 62704" when a state and ZIP code follow.
    r"(?:,\s*[a-z][a-z .'-]{1,30},\s*[a-z]{2}\.?(?:\s+\d{5}(?:-\d{4})?)?\b)?",
    re.IGNORECASE,
)
_PO_BOX = re.compile(r"\bp\.?\s?o\.?\s+box\s+\d+\b", re.IGNORECASE)

# Words that are never part of a street name but often sit between a number and "Dr", "Way",
# "Place" or "Court" in ordinary sentences ("after 3 visits my dr said", "in 2 days the st...").
_NOT_STREET_WORDS = frozenset(
    """a an the my your our his her their its this that these those and or but of to in on at
    for with from by as is are was were be been it i you we they he she me us them if so than
    then when while per each every about after before over under between into out up down
    times time visits visit sessions session weeks week days day hours hour minutes minute
    months month years year mg ml kg doses dose pills pill treatments treatment infusions
    infusion appointments appointment people patients dollars percent more less other ways
    steps mile miles km blocks block feet foot simple best good easy only safe fast quick better
    right wrong different same possible another certain specific""".split()
)

_PHONE = re.compile(
    r"(?<![\w+.,/-])"
    r"(?P<prefix>(?:\+|00)\d{1,3}[\s.-]*|1[\s.-])?"  # country code or the US trunk "1-"
    r"(?:\(\d{1,5}\)[\s.-]*|\d{1,5})"  # area code, perhaps in parentheses
    r"(?:[\s.-]?\d{2,5}){1,5}"
    r"(?![\w/]|[.,]\d)"
)
# Seven-digit local numbers ("555-1234") need a separator, and no unit after ("100-1000 mg").
_LOCAL_PHONE = re.compile(
    r"(?<![\w+.,/-])\d{3}[-.]\d{4}(?![\w/-]|[.,]\d|\s*(?:mg|ml|mcg|kg|%|dollars|usd)\b)",
    re.IGNORECASE,
)


def _valid_numeric_date(match: re.Match) -> bool:
    if match.group("iy"):
        month, day = int(match.group("im")), int(match.group("id"))
        return 1 <= month <= 12 and 1 <= day <= 31
    first, second = int(match.group("a")), int(match.group("b"))
    # US month/day or European day/month: one of the two must be a month.
    return 1 <= first <= 31 and 1 <= second <= 31 and min(first, second) <= 12


def _emails(text: str) -> Iterator[Span]:
    for match in _EMAIL.finditer(text):
        top_level = match.group().rsplit(".", 1)[1]
        if len(top_level) >= 2 and top_level.isalpha():
            yield match.span()
    for match in _SPELLED_EMAIL.finditer(text):
        yield match.span()


def _dates(text: str) -> Iterator[Span]:
    for match in _NUMERIC_DATE.finditer(text):
        if _valid_numeric_date(match):
            yield match.span()
    for match in _NAMED_DATE.finditer(text):
        yield match.span()
    for match in _BIRTH.finditer(text):
        yield match.span("date")


def _addresses(text: str) -> Iterator[Span]:
    # Searched position by position (not finditer) so that a rejected candidate such as
    # "30 miles from 12 Oak Street" does not hide the address inside it.
    position = 0
    while match := _ADDRESS.search(text, position):
        words = match.group("name").lower().split()
        if any(word.strip(".,'") in _NOT_STREET_WORDS for word in words):
            position = match.start() + 1
        else:
            yield match.span()
            position = match.end()
    for match in _PO_BOX.finditer(text):
        yield match.span()


def _phones(text: str) -> Iterator[Span]:
    for match in _PHONE.finditer(text):
        digits = sum(char.isdigit() for char in match.group())
        international = (match.group("prefix") or "").lstrip()[:1] in ("+", "0")
        if 10 <= digits <= 15 or (international and 8 <= digits <= 15):
            yield match.span()
    for match in _LOCAL_PHONE.finditer(text):
        yield match.span()


# In priority order: an email's digits are not a phone number, a date is not a phone number.
_DETECTORS: Tuple[Tuple[str, Callable[[str], Iterator[Span]]], ...] = (
    ("email", _emails),
    ("date", _dates),
    ("address", _addresses),
    ("phone", _phones),
)


def find_pii(text: str) -> List[Tuple[str, Span]]:
    """(kind, (start, end)) for each piece of personal data in `text`, in order, not overlapping."""
    found: List[Tuple[str, Span]] = []
    for kind, detect in _DETECTORS:
        for start, end in detect(text):
            if start < end and not any(start < e and s < end for _, (s, e) in found):
                found.append((kind, (start, end)))
    return sorted(found, key=lambda item: item[1])


def redact(text: str) -> str:
    """`text` with every email, phone number, date of birth and street address replaced by a
    placeholder such as "[email]"."""
    if not text:
        return text or ""
    parts, position = [], 0
    for kind, (start, end) in find_pii(text):
        parts.append(text[position:start])
        parts.append(PLACEHOLDERS[kind])
        position = end
    parts.append(text[position:])
    return "".join(parts)
