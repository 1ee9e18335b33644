"""Redaction of personal data in visitor messages: what must go, and what a ketamine FAQ must keep."""
from __future__ import annotations

import time

import pytest

from bot.console.redact import find_pii, redact

# (message, redacted message)
REDACTED = [
    # emails
    ("my email is jane.doe+ket@example.co.uk thanks", "my email is [email] thanks"),
    ("write to JANE_DOE@Clinic.ORG.", "write to [email]."),
    ("jane(at)gmail(dot)com", "[email]"),
    ("reach me: jane dot doe at gmail dot com", "reach me: [email]"),
    ("j.smith [at] mail.example.org", "[email]"),
    # US phone numbers
    ("call me at (555) 123-4567", "call me at [phone]"),
    ("555-123-4567", "[phone]"),
    ("555.123.4567 after 5pm", "[phone] after 5pm"),
    ("my cell is 555 123 4567", "my cell is [phone]"),
    ("+1 555 123 4567", "[phone]"),
    ("+1 (555) 123-4567", "[phone]"),
    ("1-800-555-1234", "[phone]"),
    ("text 5551234567 please", "text [phone] please"),
    ("call 555-1234 tomorrow", "call [phone] tomorrow"),
    ("call 555-1234, or 555-123-4567.", "call [phone], or [phone]."),
    # international phone numbers
    ("+44 20 7946 0958", "[phone]"),
    ("+33 1 23 45 67 89", "[phone]"),
    ("0044 20 7946 0958", "[phone]"),
    ("+49 30 123456", "[phone]"),
    ("+91-98765-43210", "[phone]"),
    ("my mobile 07911 123456", "my mobile [phone]"),
    ("+61.2.9876.5432", "[phone]"),
    # full calendar dates (any of them may be a date of birth)
    ("born 03/14/1985", "born [date]"),
    ("DOB 1985-03-14", "DOB [date]"),
    ("March 14 1985", "[date]"),
    ("march 14th, 1985", "[date]"),
    ("14 March 1985", "[date]"),
    ("14th of March, 1985", "[date]"),
    ("Mar. 3, 2001", "[date]"),
    ("14.03.1985", "[date]"),
    ("3/14/85", "[date]"),
    ("my first infusion was on 1/5/2023", "my first infusion was on [date]"),
    ("my son, DOB 05/06/2010, has PTSD", "my son, DOB [date], has PTSD"),
    # partial dates and bare years, when said to be a birth date
    ("I was born in 1985", "I was born in [date]"),
    ("my birthday is March 14", "my birthday is [date]"),
    ("dob: 3/14", "dob: [date]"),
    ("date of birth 14 June", "date of birth [date]"),
    # street addresses
    ("I live at 42 Oak Street", "I live at [address]"),
    ("123 Main St, Springfield, IL 62704", "[address]"),
    ("221B Baker St. is near", "[address] is near"),
    ("350 5th Ave Apt 4B", "[address]"),
    ("1600 Pennsylvania Avenue NW", "[address]"),
    ("42 oak street apt 3 is my place", "[address] is my place"),
    ("12 Elm Dr, Unit 5", "[address]"),
    ("send it to PO Box 123", "send it to [address]"),
    ("I drove 30 miles from 12 Oak Street", "I drove 30 miles from [address]"),
    ("7 Sunset Boulevard Suite 200", "[address]"),
    # several kinds in one message
    (
        "I'm Jane, 12 Oak Rd, jane@x.org, 555-123-4567, born 1/2/1980",
        "I'm Jane, [address], [email], [phone], born [date]",
    ),
]

# Ordinary messages (and bot answers) that must come through untouched.
KEPT = [
    "6 sessions over 2 weeks",
    "0.5 mg/kg over 40 minutes",
    "0.5-0.75 mg/kg",
    "call 988 or 911",
    "text HOME to 741741",
    "in 2019 I had depression",
    "between 2018 and 2020",
    "it costs $400-$800 per session",
    "1,200 dollars",
    "between 100-1000 mg",
    "5/10/15 mg",
    "after 3 visits my Dr said no",
    "is there 1 way to do it",
    "is there 1 best way to prepare",
    "3 sessions in a row",
    "takes 2 to 3 weeks",
    "2-3 times a week",
    "at 10:30 on March 14",
    "in May 2019",
    "12/2023",
    "score of 27 on the PHQ-9",
    "I take 20 mg of lexapro and 150 mg wellbutrin",
    "2 sessions a week for 3 weeks then 1 every 2 weeks",
    "version 1.2.3",
    "3.5 hours",
    "50% of patients",
    "ratio 1/2",
    "24/7 support",
    "1 in 3 people",
    "session 2 of 6",
    "a 30 mile drive",
    "where I am at the moment",
    "is your clinic at ketamine-care.com legit",
    "I'm 45 years old and weigh 70 kg",
    "[email] [phone] [date] [address]",  # already redacted: unchanged
    "",
]


@pytest.mark.parametrize("text, expected", REDACTED)
def test_personal_data_is_redacted(text, expected):
    assert redact(text) == expected


@pytest.mark.parametrize("text", KEPT)
def test_clinical_text_is_kept(text):
    assert redact(text) == text
    assert find_pii(text) == []


def test_find_pii_names_each_kind_with_its_span():
    text = "jane@x.org 555-123-4567 03/14/1985 42 Oak Street"
    found = find_pii(text)
    assert [kind for kind, _ in found] == ["email", "phone", "date", "address"]
    assert [text[start:end] for _, (start, end) in found] == [
        "jane@x.org", "555-123-4567", "03/14/1985", "42 Oak Street",
    ]


def test_redaction_is_idempotent():
    for text, _ in REDACTED:
        once = redact(text)
        assert redact(once) == once


@pytest.mark.parametrize(
    "text",
    ["a.b." * 3000, "x@" + "b." * 3000 + "!", "1-" * 3000, "jane dot " * 2000, "12 oak " * 2000,
     "555 " * 3000, "born " * 3000],
)
def test_long_hostile_input_is_fast(text):
    started = time.perf_counter()
    redact(text)
    assert time.perf_counter() - started < 0.5
