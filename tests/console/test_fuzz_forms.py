"""Fuzzing every staff console form with hypothesis, through the real web app on a real SQLite
database: each form's fields (and the ids in its action URL) get arbitrary unicode (NUL, emoji,
right-to-left text, 100 KB strings), SQL/HTML/template injection strings, missing, repeated and
extra fields, and bodies of the wrong kind (JSON, text/plain, multipart with a file, raw bytes,
invalid UTF-8). Admin cases carry the session's valid CSRF token, so the handlers' own logic runs;
one more test sends every POST form anonymously, with a bad token, or as a reviewer.

Properties, for every case: no 5xx and no exception out of the app; no injected `<script>`/`<img>`
marker and no evaluated template expression in any HTML page (the response, the page it
redirects to, and the pages that show stored data at the end); every redirect stays inside the
console; a login succeeds only with the right password; requests the guard refuses change
nothing. After each form's run the database is intact: SQLite integrity check, same tables, the
staff accounts unchanged and still signing in through the login form, and data/ untouched.

The retrain form never starts `rasa train`: `bot.console.gate` gets a stand-in `subprocess`
module whose Popen only records the command (the real create_run/audit logic still runs).

Deterministic: `derandomize=True`, no example database. Every executed case is counted (per
form, in the test body); the last test writes results/fuzz/console.json and fails unless at least
MIN_TOTAL_CASES cases ran in this session.

Each form gets its own copy of one database built once for the module (migrated, staff signed in
through the real login form; the session cookies stay valid on every copy, as the ids are the
same), so the slow argon2 work is done once, not once per form.
"""
from __future__ import annotations

import copy
import contextlib
import hashlib
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace
from typing import Dict, Iterable, List, Optional, Sequence, Tuple
from urllib.parse import quote, quote_from_bytes, urlencode

import hypothesis
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from starlette.testclient import TestClient

from bot.console import accounts, gate
from bot.console.models import (
    AuditEvent,
    Conversation,
    Correction,
    Deployment,
    FaqEntry,
    IndexedMessage,
    LoginAttempt,
    User,
)
from bot.content.checks import SOURCES
from bot.db.engine import dispose_engine, session_scope
from bot.db.migrate import upgrade
from bot.settings import PROJECT_ROOT
from tests.console.conftest import PASSWORDS, csrf_from, log_in

MIN_TOTAL_CASES = 10_000
RESULTS = PROJECT_ROOT / "results" / "fuzz" / "console.json"

# Per form: executed cases, response statuses, how many reached the handler (not refused by the
# guard's login/CSRF/size checks), wall time. Filled by the test bodies, read by the last test.
COUNTS: Counter = Counter()
STATUSES: Dict[str, Counter] = defaultdict(Counter)
HANDLED: Counter = Counter()
SECONDS: Dict[str, float] = defaultdict(float)
ROUTES: Dict[str, set] = {}

# --- the fuzz values ----------------------------------------------------------------------------

XSS_MARKERS = ("<script>alert(1)</script>", "<img src=x onerror=alert(1)>")
TEMPLATE_PROBE, TEMPLATE_RESULT = "{{1337*1337}}", "1787569"  # what Jinja would print
INJECTIONS = (
    "'; DROP TABLE console_users;--", "'; DROP TABLE users;--", "' OR '1'='1", "admin'--",
    '" OR ""="', "1; SELECT * FROM console_users", "%' OR 1=1 --", "\\'; --",
    *XSS_MARKERS, '"><script>alert(1)</script>', "</textarea><script>alert(1)</script>",
    "<svg/onload=alert(1)>", "javascript:alert(1)", TEMPLATE_PROBE, "{% raw %}{{", "${1337*1337}",
    "{{ config }}", "{{ request.session }}", "#{7*7}", "%s%s%s%n", "../../../../etc/passwd",
    "\r\nSet-Cookie: injected=1", "%00", "%0d%0a", "&amp;&lt;&#x3c;", "//evil.example/",
)
SPECIALS = (
    "", " ", "\x00", "a\x00b", "\u202eevil\u202c", "שלום עולם", "مرحبا بالعالم", "😀👍🏽👨‍👩‍👧",
    "\ufeff", "\u200b\u200d", "e\u0301", "\u2028\u2029", "\r\n\t", "Ⅻ", "١٢٣", "１２３",
    "\U0010ffff", "\x7f\x1b[31m", "ǅİß", "NULL", "None", "true", "[]", "{}",
)
NUMBERS = (
    "0", "1", "-1", " 7 ", "1_0", "١", "٤", "1e3", "0x1f", "1.0", "nan", "inf", "-0", "+3",
    str(2**31), str(2**63 - 1), str(2**63), "9" * 30,
)
CHARS = st.characters(blacklist_categories=("Cs",))  # every code point but surrogates
PLAIN = st.text(CHARS, max_size=20)


def _long(piece: str, size: int) -> str:
    return (piece * (size // max(1, len(piece)) + 1))[:size]


LONG_PIECE = st.one_of(
    st.text(st.characters(min_codepoint=32, max_codepoint=126), min_size=1, max_size=6),
    st.sampled_from(INJECTIONS[:12]), st.text(CHARS, min_size=1, max_size=3))
# Long values, 1 KB to 100 KB, mostly of ASCII pieces: a percent-encoded 100 KB of non-ASCII text
# costs the server ~0.2 s to decode (twice), so those stay rarer and a run stays within minutes.
LONG = st.builds(_long, LONG_PIECE, st.integers(1_000, 100_000))
LONG_QUERY = st.builds(_long, LONG_PIECE, st.integers(1_000, 8_000))  # for GET forms (URLs)
MIXED = st.builds(lambda a, b, c: a + b + c, PLAIN,
                  st.sampled_from(INJECTIONS + SPECIALS), PLAIN)
NUMERIC = st.one_of(st.sampled_from(NUMBERS), st.integers(-(2**70), 2**70).map(str))
TEXT = st.one_of(PLAIN, PLAIN, PLAIN, st.sampled_from(INJECTIONS), st.sampled_from(SPECIALS),
                 MIXED, NUMERIC)


def value(*valid: str) -> st.SearchStrategy[str]:
    """A field value: often one the form expects (so the real logic runs), else anything."""
    return st.one_of(st.sampled_from(valid), TEXT) if valid else TEXT


# Body kinds. "form" is what a browser sends; the others carry the token in the X-CSRF-Token
# header (the guard accepts that) so the handler sees the odd body.
FORM_KINDS = ("form", "form", "form", "form", "header-form", "multipart", "multipart-file",
              "json", "text", "no-type", "raw", "pct-bytes")
FLASH_PAGE = "/console/models/runs/none"  # a "not found" page: any page shows the flashes
MAX_QUERY_CHARS = 32_000  # GET forms: browsers and proxies cut URLs long before this
PARSED_KINDS = {"form", "header-form", "multipart", "pct-bytes"}  # handler sees the fields
FORM_TYPE = "application/x-www-form-urlencoded"
BOUNDARY = "----fuzzBoundary7MA4YWxkTrZu0gW"
ALL_FIELDS = ("username", "password", "next", "role", "active", "intent", "text", "key", "title",
              "examples", "answer", "sources", "event_id", "reviewed", "tag", "comment", "confirm",
              "csrf_token", "uid", "user_id", "q", "page")


def pairs_of(spec: Dict[str, st.SearchStrategy[str]],
             long: st.SearchStrategy[str] = LONG) -> st.SearchStrategy[List[Tuple[str, str]]]:
    """The submitted fields: each one missing, given once or repeated (up to three values), plus
    up to three extra fields, before or after the form's own; in one case out of three, one of
    the fields is long instead (one at most: long values are what costs time)."""
    names = list(spec)

    def assemble(parts) -> List[Tuple[str, str]]:
        *groups, extra, extra_first, big = parts
        own = [(name, v) for name, values in zip(names, groups) for v in values]
        pairs = extra + own if extra_first else own + extra
        if big is not None:
            name, text = big
            where = [n for n, (key, _) in enumerate(pairs) if key == name]
            if where:
                pairs[where[0]] = (name, text)
            else:
                pairs.append((name, text))
        return pairs

    groups = [st.lists(strategy, max_size=3) for strategy in spec.values()]
    extra = st.lists(st.tuples(st.one_of(st.sampled_from(ALL_FIELDS), PLAIN), TEXT), max_size=3)
    big = st.one_of(st.none(), st.none(),
                    st.tuples(st.sampled_from(names or ["text"]), long))
    return st.tuples(*groups, extra, st.booleans(), big).map(assemble)


def _multipart(pairs: Iterable[Tuple[str, str]], file: Optional[bytes]) -> bytes:
    def escape(name: str) -> bytes:  # as browsers do (WHATWG)
        return name.replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A").encode()

    out = b""
    for name, text in pairs:
        out += (f"--{BOUNDARY}\r\n".encode() + b'Content-Disposition: form-data; name="'
                + escape(name) + b'"\r\n\r\n' + text.encode() + b"\r\n")
    if file is not None:
        out += (f"--{BOUNDARY}\r\n".encode()
                + b'Content-Disposition: form-data; name="upload"; filename="x.tar.gz"\r\n'
                + b"Content-Type: application/octet-stream\r\n\r\n" + file + b"\r\n")
    return out + f"--{BOUNDARY}--\r\n".encode()


def encode(kind: str, pairs: List[Tuple[str, str]], token: Optional[str], blob: bytes,
           odd_field: str) -> Tuple[bytes, Dict[str, str]]:
    """The body and headers of one request; `token` None sends no token at all."""
    headers: Dict[str, str] = {}
    tokened = ([("csrf_token", token)] if token is not None else []) + pairs
    if kind != "form" and token is not None:
        headers["X-CSRF-Token"] = token
    if kind == "form":
        body, headers["Content-Type"] = urlencode(tokened).encode(), FORM_TYPE
    elif kind == "header-form":
        body, headers["Content-Type"] = urlencode(pairs).encode(), FORM_TYPE
    elif kind in ("multipart", "multipart-file"):
        body = _multipart(pairs, blob if kind == "multipart-file" else None)
        headers["Content-Type"] = f"multipart/form-data; boundary={BOUNDARY}"
    elif kind == "json":
        body = json.dumps(dict(pairs), ensure_ascii=False).encode()
        headers["Content-Type"] = "application/json"
    elif kind == "text":
        body = "\n".join(f"{k}={v}" for k, v in pairs).encode()
        headers["Content-Type"] = "text/plain; charset=utf-8"
    elif kind == "no-type":
        body = urlencode(pairs).encode()
    elif kind == "raw":  # raw bytes (invalid UTF-8 too), not percent-encoded
        body, headers["Content-Type"] = odd_field.encode() + b"=" + blob, FORM_TYPE
    elif kind == "pct-bytes":  # percent-encoded bytes that are not UTF-8
        body = (urlencode(tokened) + "&" + quote(odd_field) + "=" + quote_from_bytes(blob)).encode()
        headers["Content-Type"] = FORM_TYPE
    else:
        raise AssertionError(kind)
    return body, headers


BODY = st.fixed_dictionaries({
    "kind": st.sampled_from(FORM_KINDS),
    "blob": st.one_of(st.binary(max_size=64), st.sampled_from(
        [b"\xff\xfe\xfd", b"\xc3\x28", b"\xed\xa0\x80", b"\x00" * 8, b"\x80abc", b"%FF%00"])),
})


# --- the world each form is fuzzed in -----------------------------------------------------------

FUZZ_LOGIN = ("fuzz.login", "fuzz-login-password-1")  # the account the login fuzz attacks
FUZZ_TARGET = ("fuzz.target", "fuzz-target-password-1")  # the account user updates change
NOW = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=1)
SENDERS = ("visitor-1", "visitor-2", "visitor ü/😀?#%", "delete-me", "old-visitor")
MESSAGES = {101: "visitor-1", 102: "visitor-1", 201: "visitor-2", 301: "visitor ü/😀?#%",
            401: "delete-me", 501: "old-visitor"}
TRICKY = 'is it "safe" <b>really</b> & fast? <script>alert(1)</script>'
GOOD_ANSWER = ("Most clinics have parking close by. Ask the clinic where to park when you book, "
               "because someone should drive you home after a session.")
GOOD_EXAMPLES = "\n".join(["is there parking", "where should i leave my car",
                           "can i park at the clinic", "is parking free", "parking near the clinic"])


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


NO_BOT_PORT = _free_port()


class Address:
    """ASGI wrapper giving requests the client address `host` (the login rate limits count
    failures per address; the final sign-in checks come from an address the fuzz never used)."""

    def __init__(self, app) -> None:
        self.app, self.host = app, "testclient"

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http":
            scope = dict(scope, client=(self.host, 50000))
        await self.app(scope, receive, send)


def _environment(mp: pytest.MonkeyPatch, url: str, project: Path, models: Path) -> None:
    mp.setenv("DB_URL", url)
    mp.setenv("CONSOLE_SECRET_KEY", "test-secret-key")
    mp.setenv("TRAINING_ROOT", str(project))
    mp.setenv("MODELS_DIR", str(models))
    mp.setenv("RASA_PORT", str(NO_BOT_PORT))  # nothing answers: the bot counts as not running
    mp.setenv("RASA_AUTH_TOKEN", "")
    mp.setenv("PROFILE", "embedded")
    mp.setenv("RETENTION_DAYS", "180")
    for name in ("CONSOLE_ADMIN_USER", "CONSOLE_ADMIN_PASSWORD", "RASA_API_URLS",
                 "MODEL_SERVER_URL", "CONSOLE_SECURE_COOKIES"):
        mp.delenv(name, raising=False)


def _seed(session) -> None:
    for role, password in PASSWORDS.items():
        accounts.create_user(session, role, password, role)
    accounts.create_user(session, *FUZZ_LOGIN, "reviewer")
    accounts.create_user(session, *FUZZ_TARGET, "reviewer")
    for sender in SENDERS:
        at = datetime(2020, 1, 1, tzinfo=timezone.utc) if sender == "old-visitor" else NOW
        session.add(Conversation(sender_id=sender, first_at=at, last_at=at, messages=2,
                                 min_confidence=0.41))
    for event_id, sender in MESSAGES.items():
        text = TRICKY if event_id == 102 else f"can i park my car there? message {event_id}"
        at = datetime(2020, 1, 1, tzinfo=timezone.utc) if sender == "old-visitor" else NOW
        session.add(IndexedMessage(event_id=event_id, sender_id=sender, at=at, text=text,
                                   search_text=text.lower(), intent="faq/cost", confidence=0.41))
    session.flush()
    entry = FaqEntry(key="fuzz_pending", title="A pending question <script>alert(1)</script>",
                     answer=GOOD_ANSWER, sources=["A1"], created_by="reviewer")
    session.add(entry)
    session.flush()
    session.add(Correction(kind="relabel", event_id=101, sender_id="visitor-1",
                           text="can i park my car there", intent="clinic_practicalities",
                           created_by="reviewer"))
    session.add(Correction(kind="ignore", event_id=201, sender_id="visitor-2", text="x",
                           created_by="reviewer"))
    session.add(Correction(kind="new_question", text="is there parking", intent="faq/fuzz_pending",
                           faq_entry_id=entry.id, created_by="reviewer"))


def _staff_rows(url: str) -> Dict[str, Tuple]:
    with session_scope(url) as session:
        return {u.username: (u.id, u.role, u.active, u.password_hash)
                for u in session.scalars(select(User))}


def _sqlite(path: Path):
    return contextlib.closing(sqlite3.connect(path))


def _tables(path: Path) -> List[str]:
    with _sqlite(path) as connection:
        return sorted(r[0] for r in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'"))


def _tree_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(root)).encode() + path.read_bytes())
    return digest.hexdigest()


@dataclass
class Template:
    db: Path
    project: Path
    cookies: Dict[str, list]  # role -> the session cookies of a signed-in client
    tokens: Dict[str, str]
    staff: Dict[str, Tuple]
    tables: List[str]
    data_digest: str


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Template:
    root = tmp_path_factory.mktemp("console-fuzz")
    project = root / "project"
    shutil.copytree(PROJECT_ROOT / "data", project / "data")
    db = root / "template.db"
    url = f"sqlite:///{db}"
    cookies, tokens = {}, {}
    with pytest.MonkeyPatch.context() as mp:
        _environment(mp, url, project, root / "models")
        upgrade(url)
        with session_scope(url) as session:
            _seed(session)
        from bot.web.app import create_app

        with TestClient(create_app(), base_url="http://localhost") as client:
            for role in ("admin", "reviewer", "anonymous"):
                client.cookies.clear()
                if role != "anonymous":
                    assert log_in(client, role, PASSWORDS[role]).status_code == 303
                tokens[role] = csrf_from(client.get(
                    "/console/login" if role == "anonymous" else "/console/teach/new").text)
                cookies[role] = [copy.copy(c) for c in client.cookies.jar]
        with session_scope(url) as session:  # the sign-ins above are not part of any form's run
            session.execute(LoginAttempt.__table__.delete())
            session.execute(AuditEvent.__table__.delete())
    staff = _staff_rows(url)
    dispose_engine(url)
    return Template(db, project, cookies, tokens, staff, _tables(db), _tree_digest(project / "data"))


@dataclass
class World:
    """One form's run: its own copy of the database, the app on it, and its client."""

    template: Template
    db: Path
    url: str
    front: Address
    client: TestClient
    models: Path
    sent_template_result: bool = False  # some input contained TEMPLATE_RESULT itself

    def as_(self, role: str) -> TestClient:
        """The client, signed in as `role` ("anonymous": a visitor with a login-page session,
        "nobody": no cookie at all), freshly: flashes and logouts of earlier cases are gone."""
        self.client.cookies.clear()
        self.front.host = "testclient"
        for cookie in self.template.cookies.get(role, []):
            self.client.cookies.jar.set_cookie(copy.copy(cookie))
        return self.client

    def token(self, role: str) -> str:
        return self.template.tokens[role]


@pytest.fixture
def world(request, template, tmp_path, monkeypatch):
    db = tmp_path / "console.db"
    shutil.copy2(template.db, db)
    url = f"sqlite:///{db}"
    models = tmp_path / "models"
    models.mkdir()
    _environment(monkeypatch, url, template.project, models)
    from bot.web.app import create_app

    front = Address(create_app())
    client = TestClient(front, base_url="http://localhost")
    client.__enter__()
    started = time.perf_counter()
    name = request.node.name.removeprefix("test_fuzz_")
    try:
        yield World(template, db, url, front, client, models)
    finally:
        client.__exit__(None, None, None)
        dispose_engine(url)
        SECONDS[name] += time.perf_counter() - started


# --- checks ---------------------------------------------------------------------------------------


def check_page(world: World, response, sent: Sequence[str] = ()) -> None:
    """No 5xx; in HTML, no injected marker unescaped and no template expression evaluated; every
    redirect stays inside the console and carries no header break."""
    assert response.status_code < 500, (response.status_code, response.text[:2000])
    if response.headers.get("content-type", "").startswith("text/html"):
        body = response.text
        for marker in XSS_MARKERS:
            assert marker not in body, f"unescaped {marker!r} in {response.url}"
        if TEMPLATE_RESULT in body:
            assert world.sent_template_result or any(TEMPLATE_RESULT in s for s in sent), \
                f"a template expression was evaluated in {response.url}"
    location = response.headers.get("location")
    if location is not None:
        assert "\r" not in location and "\n" not in location
        assert location.startswith("/console") and not location.startswith("//"), location


# The action URLs with a part the fuzz varies, as the routes declare them (for the report).
TEMPLATES = {
    "relabel": "/console/messages/{event_id:int}/relabel",
    "ignore": "/console/messages/{event_id:int}/ignore",
    "correction_delete": "/console/teach/corrections/{correction_id:int}/delete",
    "question_delete": "/console/teach/questions/{entry_id:int}/delete",
    **{form: "/console/conversations/{sender_id}/" + action for form, action in (
        ("review", "review"), ("tag_add", "tags"), ("tag_delete", "tags/delete"),
        ("flag", "flags"), ("reveal", "reveal"), ("conversation_delete", "delete"))},
    "rollback": "/console/models/rollback/{deployment_id}",
    "user_update": "/console/users/{user_id}",
}


def send(world: World, form: str, method: str, path: str, role: str = "admin",
         pairs: Sequence[Tuple[str, str]] = (), kind: str = "form", blob: bytes = b"",
         token: Optional[str] = "valid", follow: bool = True, address: str = "testclient"):
    """One fuzz case: the request as `role` ("valid" token: the role's own), its checks, the
    counts. With an injection marker in the input, the page a redirect leads to (where the
    flash message shows) is checked too."""
    COUNTS[form] += 1
    ROUTES.setdefault(form, set()).add(f"{method} {TEMPLATES.get(form) or path.split('?')[0]}")
    client = world.as_(role)
    world.front.host = address
    sent = [path] + [s for pair in pairs for s in pair]
    if any(TEMPLATE_RESULT in s for s in sent):
        world.sent_template_result = True
    if method == "GET":
        query = list(pairs)
        while len(urlencode(query)) > MAX_QUERY_CHARS:  # no client sends a longer URL
            query.pop()
        began = time.perf_counter()
        response = client.get(path, params=query, follow_redirects=False)
        SECONDS["http"] += time.perf_counter() - began
    else:
        chosen = world.template.tokens[role] if token == "valid" else token
        odd = pairs[0][0] if pairs else "username"
        body, headers = encode(kind, list(pairs), chosen, blob, odd)
        began = time.perf_counter()
        response = client.post(path, content=body, headers=headers, follow_redirects=False)
        SECONDS["http"] += time.perf_counter() - began
    STATUSES[form][response.status_code] += 1
    refused = response.status_code in (401, 413) or (
        response.status_code == 403 and "did not come from the console" in response.text)
    if not refused:
        HANDLED[form] += 1
    check_page(world, response, sent)
    if follow and response.status_code == 303 and any(
            m in s for s in sent for m in (*XSS_MARKERS, TEMPLATE_PROBE)):
        # The flash message the redirect left shows on the next page: the cheapest one.
        check_page(world, client.get(FLASH_PAGE, follow_redirects=False), sent)
    return response


CONVERSATION_PAGES = ("/console", "/console/conversations",
                      *(f"/console/conversations/{quote(s, safe='')}" for s in SENDERS))
TEACH_PAGES = ("/console/teach", "/console/conversations/visitor-1")


def stored_pages(world: World, pages: Iterable[str]) -> None:
    """The pages that show what the form stored (and the users page and every audit log page,
    which show who did what to which target) render without 5xx and without a raw marker."""
    client = world.as_("admin")
    with session_scope(world.url) as session:
        events = session.scalar(select(func.count(AuditEvent.id))) or 0
    audit = [f"/console/audit?page={n}" for n in range(1, max(1, -(-events // 100)) + 1)]
    for page in ("/console/users", *pages, *audit):
        response = client.get(page, follow_redirects=False)
        # (404: a conversation the form deleted; never 303: the admin is still signed in)
        assert response.status_code in (200, 404), (page, response.status_code)
        check_page(world, response)


def assert_intact(world: World, pages: Iterable[str] = (),
                  sign_in: Sequence[str] = ("admin",)) -> None:
    """After a form's run: the database passes SQLite's checks and has the same tables; the staff
    accounts are unchanged (role, active, password hash: so the same password still opens them)
    and `sign_in` still log in through the real login form; data/ was not written; `pages`
    render cleanly."""
    started = time.perf_counter()
    with _sqlite(world.db) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
    assert _tables(world.db) == world.template.tables
    staff = _staff_rows(world.url)
    for username in ("admin", "reviewer", FUZZ_LOGIN[0]):
        assert staff[username] == world.template.staff[username], username
    assert _tree_digest(world.template.project / "data") == world.template.data_digest
    client = world.as_("nobody")
    world.front.host = "10.255.255.254"  # an address the fuzz never used (rate limits)
    for role in sign_in:
        client.cookies.clear()
        assert log_in(client, role, PASSWORDS[role]).status_code == 303, role
    stored_pages(world, pages)
    SECONDS["intact"] += time.perf_counter() - started


def audit_count(world: World) -> int:
    with _sqlite(world.db) as connection:  # (cheaper than a SQLAlchemy session)
        return connection.execute("SELECT count(*) FROM console_audit_log").fetchone()[0]


FUZZ = dict(
    derandomize=True, database=None, deadline=None, print_blob=False,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                           HealthCheck.data_too_large, HealthCheck.large_base_example,
                           HealthCheck.filter_too_much],
)


def fuzz(max_examples: int):
    return settings(max_examples=max_examples, **FUZZ)


# Path parts of the forms' action URLs.
def int_ids(*valid: int) -> st.SearchStrategy[str]:
    """What Starlette's `{x:int}` accepts (digits), valid ids often, huge ones too."""
    return st.one_of(st.sampled_from([str(v) for v in valid]),
                     st.integers(0, 10**25).map(str), st.sampled_from(["0" * 5 + "1", "9" * 25]))


SENDER_IDS = st.one_of(st.sampled_from(SENDERS), st.text(CHARS, min_size=1, max_size=40),
                       st.sampled_from(INJECTIONS).filter(bool))


def conversation(sender: str, action: str) -> str:
    return f"/console/conversations/{quote(sender, safe='')}/{action}"


# --- login and logout ---------------------------------------------------------------------------
# Each test runs its hypothesis case function, then checks the database that run used.

NEXT_TARGETS = ("/console/users", "/console/teach?x=1&y=<script>alert(1)</script>",
                "//evil.example", "https://evil.example/", "/console\\..\\evil", "/consolex",
                "/console//evil.example", "/console/%0d%0aSet-Cookie:x=1", "javascript:alert(1)",
                "")


def test_fuzz_login(world):
    @fuzz(350)
    @given(
        pairs=pairs_of({
            "username": value(FUZZ_LOGIN[0], " FUZZ.Login ", "fuzz.login\x00", "nobody",
                              "admin'--"),
            "password": value(FUZZ_LOGIN[1], FUZZ_LOGIN[1] + " ", "' OR '1'='1"),
            "next": value(*NEXT_TARGETS),
        }),
        body=BODY,
        # The rate limit counts failures per address: two addresses, so it bites, and lets
        # some 40 attempts through (each one pays for an argon2 verification, slow by design).
        address=st.sampled_from(["testclient", "192.0.2.1"]),
    )
    @example(pairs=[("username", FUZZ_LOGIN[0]), ("password", FUZZ_LOGIN[1]),
                    ("next", "//evil.example")], body={"kind": "form", "blob": b""},
             address="192.0.2.3")
    @example(pairs=[("username", "admin'--"), ("password", "x")],
             body={"kind": "form", "blob": b""}, address="192.0.2.3")
    def case(pairs, body, address):
        response = send(world, "login", "POST", "/console/login", "anonymous", pairs,
                        address=address, **body)
        if response.status_code == 303:  # signed in: only ever with the right password
            seen = list(pairs)
            if body["kind"] == "pct-bytes":
                seen.append((pairs[0][0] if pairs else "username",
                             body["blob"].decode("utf-8", "replace")))
            form = dict(seen)  # the last value of a repeated field wins, as in Starlette
            assert body["kind"] in PARSED_KINDS
            assert form.get("username", "").strip()[:64].lower() == FUZZ_LOGIN[0]
            assert form.get("password", "")[:1024] == FUZZ_LOGIN[1]

    case()
    assert_intact(world, sign_in=("admin", "reviewer"))


def test_fuzz_logout(world):
    @fuzz(200)
    @given(pairs=pairs_of({"next": value("/console"), "csrf_token": value()}), body=BODY,
           role=st.sampled_from(["admin", "reviewer"]))
    def case(pairs, body, role):
        response = send(world, "logout", "POST", "/console/logout", role, pairs, **body)
        if response.status_code == 303:
            assert response.headers["location"] == "/console/login"
            # The session is gone: the same client no longer reaches a page.
            assert world.client.get("/console/teach", follow_redirects=False).status_code == 303

    case()
    assert_intact(world, sign_in=("admin", "reviewer"))


# --- teaching -----------------------------------------------------------------------------------

INTENTS = ("greet", "faq/cost", "crisis", "faq/fuzz_pending", "faq/nonexistent", "out_of_scope",
           "clinic_practicalities", "faq/")
HUGE = str(2**63)  # one past SQLite's largest integer
FORM = {"kind": "form", "blob": b""}


def test_fuzz_relabel(world):
    @fuzz(300)
    @given(event=int_ids(*MESSAGES), body=BODY, pairs=pairs_of({
        "intent": value(*INTENTS),
        "text": value("", "where do visitors leave their cars", "how much does it cost"),
    }))
    @example(event=HUGE, body=FORM, pairs=[("intent", "greet")])
    def case(event, body, pairs):
        send(world, "relabel", "POST", f"/console/messages/{event}/relabel", "admin", pairs,
             **body)

    case()
    assert_intact(world, TEACH_PAGES + CONVERSATION_PAGES)


def test_fuzz_ignore(world):
    @fuzz(300)
    @given(event=int_ids(*MESSAGES), body=BODY, pairs=pairs_of({"intent": value("greet")}))
    @example(event=HUGE, body=FORM, pairs=[])
    def case(event, body, pairs):
        send(world, "ignore", "POST", f"/console/messages/{event}/ignore", "admin", pairs,
             **body)

    case()
    assert_intact(world, TEACH_PAGES + CONVERSATION_PAGES)


def test_fuzz_new_question(world):
    @fuzz(200)
    @given(body=BODY, pairs=pairs_of({
        "key": value("parking_at_clinic", "Parking At-Clinic", "cost", "fuzz_pending", "a",
                     "x" * 65),
        "title": value("Parking at the clinic"),
        "examples": value(GOOD_EXAMPLES, GOOD_EXAMPLES + "\nhow much does it cost"),
        "answer": value(GOOD_ANSWER),
        "sources": value(*SOURCES),
        "event_id": value("101", "102", "", HUGE, "9" * 25),
    }))
    @example(body=FORM, pairs=[
        ("key", "parking_at_clinic"), ("title", "Parking <script>alert(1)</script>"),
        ("examples", GOOD_EXAMPLES), ("answer", GOOD_ANSWER), ("sources", "A1"),
        ("event_id", "9" * 25)])
    @example(body=FORM, pairs=[
        ("key", "parking_at_clinic"), ("title", "Parking at the clinic"),
        ("examples", GOOD_EXAMPLES), ("answer", GOOD_ANSWER), ("sources", "A1"),
        ("event_id", "101")])
    def case(body, pairs):
        send(world, "new_question", "POST", "/console/teach/new", "admin", pairs, **body)

    case()
    assert_intact(world, TEACH_PAGES)


def test_fuzz_correction_delete(world):
    @fuzz(250)
    @given(correction=int_ids(1, 2, 3), body=BODY, pairs=pairs_of({"confirm": value("yes")}))
    @example(correction=HUGE, body=FORM, pairs=[])
    def case(correction, body, pairs):
        send(world, "correction_delete", "POST",
             f"/console/teach/corrections/{correction}/delete", "admin", pairs, **body)

    case()
    assert_intact(world, TEACH_PAGES)


def test_fuzz_question_delete(world):
    @fuzz(250)
    @given(entry=int_ids(1, 2), body=BODY, pairs=pairs_of({"confirm": value("yes")}))
    @example(entry=HUGE, body=FORM, pairs=[])
    def case(entry, body, pairs):
        send(world, "question_delete", "POST", f"/console/teach/questions/{entry}/delete",
             "admin", pairs, **body)

    case()
    assert_intact(world, TEACH_PAGES)


# --- conversations ------------------------------------------------------------------------------


def test_fuzz_review(world):
    @fuzz(400)
    @given(sender=SENDER_IDS, body=BODY,
           pairs=pairs_of({"reviewed": value("1", "0", "on", "yes")}))
    def case(sender, body, pairs):
        send(world, "review", "POST", conversation(sender, "review"), "admin", pairs, **body)

    case()
    assert_intact(world, CONVERSATION_PAGES)


def test_fuzz_tag_add(world):
    @fuzz(500)
    @given(sender=SENDER_IDS, body=BODY,
           pairs=pairs_of({"tag": value("billing", " Billing ", "x" * 100)}))
    def case(sender, body, pairs):
        send(world, "tag_add", "POST", conversation(sender, "tags"), "admin", pairs, **body)

    case()
    assert_intact(world, CONVERSATION_PAGES)


def test_fuzz_tag_delete(world):
    @fuzz(400)
    @given(sender=SENDER_IDS, body=BODY, pairs=pairs_of({"tag": value("billing", "Billing", "")}))
    def case(sender, body, pairs):
        send(world, "tag_delete", "POST", conversation(sender, "tags/delete"), "admin", pairs,
             **body)

    case()
    assert_intact(world, CONVERSATION_PAGES)


def test_fuzz_flag(world):
    @fuzz(550)
    @given(sender=SENDER_IDS, body=BODY, pairs=pairs_of({
        "comment": value("the answer was about cost, not parking"),
        "event_id": value("101", "201", "301", "999", HUGE, "9" * 25, " 101 ", "١٠١"),
    }))
    @example(sender="visitor-1", body=FORM, pairs=[("comment", "wrong"), ("event_id", "9" * 25)])
    def case(sender, body, pairs):
        send(world, "flag", "POST", conversation(sender, "flags"), "admin", pairs, **body)

    case()
    assert_intact(world, CONVERSATION_PAGES)


def test_fuzz_reveal(world):
    @fuzz(100)
    @given(sender=SENDER_IDS, body=BODY, pairs=pairs_of({"confirm": value("yes")}))
    def case(sender, body, pairs):
        send(world, "reveal", "POST", conversation(sender, "reveal"), "admin", pairs, **body)

    case()
    assert_intact(world, CONVERSATION_PAGES)


def test_fuzz_conversation_delete(world):
    @fuzz(400)
    @given(sender=SENDER_IDS, body=BODY,
           pairs=pairs_of({"confirm": value("yes", "YES", "no", "on")}))
    def case(sender, body, pairs):
        send(world, "conversation_delete", "POST", conversation(sender, "delete"), "admin",
             pairs, **body)

    case()
    assert_intact(world, CONVERSATION_PAGES)


def test_fuzz_retention(world):
    @fuzz(150)
    @given(body=BODY, pairs=pairs_of({"days": value("1", "0", "-1"), "confirm": value("yes")}))
    def case(body, pairs):
        send(world, "retention", "POST", "/console/retention", "admin", pairs, **body)

    case()
    with session_scope(world.url) as session:  # the one conversation past RETENTION_DAYS went
        assert session.get(Conversation, "old-visitor") is None
        assert session.get(Conversation, "visitor-1") is not None
    assert_intact(world, CONVERSATION_PAGES)


# --- models -------------------------------------------------------------------------------------


class RecordingSubprocess:
    """Stands in for the `subprocess` module inside bot.console.gate only: Popen records the
    command and starts nothing, so no fuzz case can launch a real retrain."""

    PIPE, STDOUT, DEVNULL = subprocess.PIPE, subprocess.STDOUT, subprocess.DEVNULL

    def __init__(self) -> None:
        self.commands: List[List[str]] = []

    def Popen(self, command, **kwargs):  # noqa: N802 (the module's name)
        self.commands.append([str(c) for c in command])
        return SimpleNamespace(pid=0, returncode=0, poll=lambda: 0, wait=lambda *a, **k: 0)


@pytest.fixture
def no_training(monkeypatch) -> RecordingSubprocess:
    fake = RecordingSubprocess()
    monkeypatch.setattr(gate, "subprocess", fake)
    return fake


def test_fuzz_retrain(world, no_training):
    @fuzz(300)
    @given(body=BODY, role=st.sampled_from(["admin", "admin", "reviewer"]),
           pairs=pairs_of({"confirm": value("yes"), "run_id": value("1")}))
    @example(body=FORM, role="admin", pairs=[])
    def case(body, role, pairs):
        send(world, "retrain", "POST", "/console/models/retrain", role, pairs, **body)

    case()
    # The handler's real path ran (a run was queued and "started"), through the stand-in only.
    assert no_training.commands
    for command in no_training.commands:
        assert command[1:5] == ["-m", "bot.console", "retrain", "--run-id"], command
    assert_intact(world, ["/console/models", "/console/models/runs/1"])


def _model(path: Path, age_s: float) -> Path:
    path.write_bytes(b"not a real model")
    moment = time.time() - age_s
    os.utime(path, (moment, moment))
    return path


def test_fuzz_rollback(world):
    old = _model(world.models / "20240101-000000-old.tar.gz", 7200)
    new = _model(world.models / "20240102-000000-new.tar.gz", 3600)
    with session_scope(world.url) as session:
        for path in (old, new):
            session.add(Deployment(model_path=str(path), kind="promote", deployed_by="admin"))

    @fuzz(450)
    @given(target=st.one_of(
        st.sampled_from(["previous", "1", "2", "3", "0", "-1", "999", "Previous", "1.5", "١",
                         " 2", HUGE, "9" * 25]),
        NUMERIC, st.text(CHARS, min_size=1, max_size=20)),
        body=BODY, pairs=pairs_of({"confirm": value("yes")}))
    @example(target="9" * 25, body=FORM, pairs=[])
    def case(target, body, pairs):
        send(world, "rollback", "POST", f"/console/models/rollback/{quote(target, safe='')}",
             "admin", pairs, **body)

    case()
    assert {p.name for p in world.models.glob("*.tar.gz")} == {old.name, new.name}
    assert_intact(world, ["/console/models"])


# --- staff accounts -----------------------------------------------------------------------------


def test_fuzz_user_create(world):
    @fuzz(600)
    @given(body=BODY, pairs=pairs_of({
        "username": value("new.user", "fuzz-new", "ADMIN", "Fuzz.Login", "a", "x" * 65,
                          "new user"),
        "password": value("long-enough-password-1", "short", "new.user"),
        "role": value("admin", "reviewer", "root", "Admin", ""),
    }))
    def case(body, pairs):
        send(world, "user_create", "POST", "/console/users", "admin", pairs, **body)

    case()
    assert_intact(world, sign_in=("admin", "reviewer"))


def _parses_to(text: str) -> Optional[int]:
    try:
        return int(text)
    except ValueError:
        return None


USER_PATHS = st.one_of(
    st.sampled_from(["target", "self", "999", "0", "-1", "abc", "1.0", HUGE, "9" * 25]),
    NUMERIC, st.text(CHARS, min_size=1, max_size=12),
)


def test_fuzz_user_update(world):
    ids = {name: row[0] for name, row in world.template.staff.items()}

    @fuzz(450)
    @given(who=USER_PATHS, body=BODY, pairs=pairs_of({
        "role": value("admin", "reviewer", "root", ""),
        "active": value("on", "off", ""),
        # Mostly short: a long enough password is hashed (argon2, slow by design).
        "password": st.one_of(st.just(""), st.text(CHARS, max_size=11), st.just("x" * 11),
                              st.sampled_from(SPECIALS), st.just("a-new-password-for-target")),
    }))
    @example(who="9" * 25, body=FORM, pairs=[("role", "admin")])
    def case(who, body, pairs):
        if who == "target":
            who = str(ids[FUZZ_TARGET[0]])
        elif who == "self":
            who = str(ids["admin"])
        # Never the other staff accounts (a valid update may rightly change them); the admin's
        # own account only without a password (the handler refuses to demote or deactivate it).
        if _parses_to(who) in (ids["reviewer"], ids[FUZZ_LOGIN[0]]):
            who = str(ids[FUZZ_TARGET[0]])
        if _parses_to(who) == ids["admin"]:
            pairs = [p for p in pairs if p[0] != "password"]
        send(world, "user_update", "POST", f"/console/users/{quote(who, safe='')}", "admin",
             pairs, **body)

    case()
    with session_scope(world.url) as session:
        admin = session.get(User, ids["admin"])
        assert admin.role == "admin" and admin.active
    assert_intact(world, sign_in=("admin", "reviewer"))


# --- the GET forms: conversation filters (and their exports), audit filter, dashboard, ... -------

FILTER_FIELDS = {
    "q": value("insurance", "park"),
    "from": value("2020-01-01", "9999-12-31", "0001-01-01", "2025-02-30", "2025-03-01"),
    "to": value("2020-01-01", "9999-12-31", "0001-01-01", "2025-13-01"),
    "intent": value("faq", "faq/cost", "greet", "%", "_"),
    "below": value("50", "100", "0", "1e308", "nan", "-5", "50%", "inf"),
    "reviewed": value("yes", "no"),
    "tag": value("billing"),
    "fallback": value("1", "on"),
    "crisis": value("1", "yes"),
    "contraindication": value("1"),
    "page": value("1", "2", "0", "-3", HUGE, "9" * 25),
}


def test_fuzz_conversation_filter(world):
    @fuzz(200)
    @given(path=st.sampled_from(["/console/conversations", "/console/conversations",
                                 "/console/conversations/export.csv",
                                 "/console/conversations/export.json"]),
           pairs=pairs_of(FILTER_FIELDS, long=LONG_QUERY))
    @example(path="/console/conversations", pairs=[("page", "9" * 25)])
    @example(path="/console/conversations", pairs=[("to", "9999-12-31")])
    def case(path, pairs):
        send(world, "conversation_filter", "GET", path, "admin", pairs)

    case()
    assert_intact(world, ["/console/conversations"])


def test_fuzz_other_get_forms(world):
    @fuzz(300)
    @given(path=st.sampled_from(["/console/audit", "/console", "/console/teach/new",
                                 "/console/login"]),
           pairs=pairs_of({"action": value("login", "login_failed", "tag"),
                           "page": value("1", "2", "0", HUGE, "9" * 25),
                           "days": value("7", "30", "90", "-1"),
                           "event_id": value("101", "102", HUGE, "9" * 25),
                           "next": value(*NEXT_TARGETS)}, long=LONG_QUERY))
    @example(path="/console/audit", pairs=[("page", "9" * 25)])
    @example(path="/console/teach/new", pairs=[("event_id", "9" * 25)])
    def case(path, pairs):
        send(world, "other_get_forms", "GET", path, "admin", pairs)

    case()
    assert_intact(world)


# --- every POST form anonymously, with a bad CSRF token, or as a reviewer -----------------------

POST_FORMS = (
    ("/console/login", False), ("/console/logout", False),
    ("/console/messages/101/relabel", False), ("/console/messages/102/ignore", False),
    ("/console/teach/new", False), ("/console/teach/corrections/1/delete", False),
    ("/console/teach/questions/1/delete", False), (conversation("visitor-1", "review"), False),
    (conversation("visitor-1", "tags"), False), (conversation("visitor-1", "tags/delete"), False),
    (conversation("visitor-1", "flags"), False), (conversation("visitor-1", "reveal"), True),
    (conversation("visitor-2", "delete"), True), ("/console/retention", True),
    ("/console/models/retrain", False), ("/console/models/rollback/previous", True),
    ("/console/users", True), ("/console/users/4", True),
)


def test_fuzz_guard(world, no_training):
    @fuzz(3450)
    @given(
        form=st.sampled_from(POST_FORMS),
        who=st.sampled_from(["nobody", "anonymous", "admin-bad-token", "reviewer"]),
        token=st.one_of(st.none(), st.just(""),
                        st.sampled_from(["reviewer", "anonymous", "padded", "upper", "query"]),
                        st.text(st.characters(min_codepoint=33, max_codepoint=126), max_size=50)),
        body=BODY,
        # (not a staff username: a signed-in reviewer's token is valid on the login form too,
        # and five failed logins would lock that account for the final sign-in check)
        pairs=pairs_of({"username": value(FUZZ_LOGIN[0]), "tag": value("x"),
                        "confirm": value("yes")}),
    )
    def case(form, who, token, body, pairs):
        path, admin_only = form
        before = audit_count(world)
        role = "admin" if who == "admin-bad-token" else who
        own = world.template.tokens.get(role, world.token("admin"))
        supplied: Optional[str]
        if who == "reviewer":
            supplied = "valid"  # the reviewer's own token: only the role can refuse it
        elif token in ("reviewer", "anonymous"):
            supplied = world.token(token)  # another session's token
        elif token == "padded":
            supplied = " " + own + " "
        elif token == "upper":
            supplied = own.upper()
        elif token == "query":  # the guard reads the token from the body or a header only
            path, supplied = path + "?csrf_token=" + own, None
        else:
            supplied = token
        if supplied == world.token("anonymous") and role == "anonymous":
            supplied = None  # its own token would be valid on the login form
        response = send(world, "guard", "POST", path, role, pairs, token=supplied,
                        follow=False, **body)
        status = response.status_code
        if who in ("nobody", "anonymous") and not path.startswith("/console/login"):
            assert status == 401, status
        elif who == "reviewer":
            if admin_only:
                assert status in (403, 413), status
        else:
            assert status in (403, 413), status
        if who != "reviewer":
            assert audit_count(world) == before  # a refused request changes nothing

    case()
    assert_intact(world, CONVERSATION_PAGES + TEACH_PAGES, sign_in=("admin", "reviewer"))


# --- the counts ---------------------------------------------------------------------------------


def test_fuzz_case_counts():
    """Runs after the fuzz tests above (same module, file order): writes the counts and fails
    unless at least MIN_TOTAL_CASES cases were executed in this session."""
    total = sum(COUNTS.values())
    report = {
        "hypothesis": hypothesis.__version__,
        "seeded": "derandomize=True, database=None",
        "total_cases": total,
        "minimum": MIN_TOTAL_CASES,
        "integrity_check_seconds": round(SECONDS.get("intact", 0.0), 1),
        "request_seconds": round(SECONDS.get("http", 0.0), 1),
        "forms": {
            form: {"routes": sorted(ROUTES.get(form, ())), "cases": COUNTS[form],
                   "reached_handler": HANDLED[form],
                   "statuses": {str(k): v for k, v in sorted(STATUSES[form].items())},
                   "seconds": round(SECONDS.get(form, 0.0), 1)}
            for form in sorted(COUNTS)
        },
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nconsole form fuzz: {total} cases -> {RESULTS}")
    for form, row in report["forms"].items():
        print(f"  {form:22} {row['cases']:6} cases  {row['reached_handler']:6} handled  "
              f"{row['statuses']}")
    assert total >= MIN_TOTAL_CASES, f"only {total} fuzz cases ran (need {MIN_TOTAL_CASES})"
