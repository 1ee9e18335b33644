"""`make audit` helper (mk/audit.mk): probe the advisory services, read pip-audit's and
npm audit's JSON reports, apply the ignore lists in this folder and print a short summary.

Standard library only, so any Python 3 runs it.

  check.py probe pypi|osv [OSV_URL]     exit 3 (BLOCKED) when the service does not answer
  check.py pip REPORT.json IGNORE.txt   exit 1 on any finding not in the ignore list
  check.py npm REPORT.json IGNORE.txt   exit 1 on any high/critical advisory not in the ignore list

Ignore lists: one advisory ID a line followed by `# reason`; blank lines and lines that start
with `#` are comments. An entry without a reason is an error: the point of the list is the reason.
A pip entry matches the finding's ID or any of its aliases (PYSEC-..., GHSA-..., CVE-...); an npm
entry matches the GHSA ID in the advisory's URL, or its npm advisory number.
"""

from __future__ import annotations

import json
import re
import sys
import urllib.error
import urllib.request

BLOCKED = 3
# A release that exists on PyPI for as long as PyPI does: its per-release JSON is what
# pip-audit's "pypi" service reads (the `vulnerabilities` key).
PYPI_PROBE = "https://pypi.org/pypi/pip/24.0/json"
OSV_DEFAULT = "https://api.osv.dev/v1/query"
NPM_GATE = ("high", "critical")


def blocked(service: str, url: str, why: str) -> int:
    print(
        f"audit BLOCKED: the {service} advisory service does not answer from this machine:\n"
        f"  {url} -> {why}\n"
        "  Nothing was audited: this is not a pass. See the header of mk/audit.mk.",
        file=sys.stderr,
    )
    return BLOCKED


def probe(service: str, osv_url: str = "") -> int:
    if service == "pypi":
        url, req = PYPI_PROBE, urllib.request.Request(PYPI_PROBE)
    elif service == "osv":
        url = osv_url or OSV_DEFAULT
        body = json.dumps({"package": {"name": "pip", "ecosystem": "PyPI"}, "version": "24.0"})
        req = urllib.request.Request(
            url, data=body.encode(), headers={"Content-Type": "application/json"}
        )
    else:
        print(f"unknown vulnerability service {service!r} (pypi or osv)", file=sys.stderr)
        return 2
    try:
        with urllib.request.urlopen(req, timeout=15) as resp:
            data = json.load(resp)
    except urllib.error.HTTPError as e:
        return blocked(service, url, f"HTTP {e.code} {e.reason}")
    except (urllib.error.URLError, OSError) as e:
        return blocked(service, url, str(getattr(e, "reason", e)))
    except ValueError as e:
        return blocked(service, url, f"answer is not JSON ({e})")
    if service == "pypi" and "vulnerabilities" not in data:
        return blocked(service, url, "answer has no 'vulnerabilities' key")
    return 0


def read_ignores(path: str) -> dict[str, str]:
    ignores: dict[str, str] = {}
    bad = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            ident, _, reason = line.partition("#")
            ident, reason = ident.strip(), reason.strip()
            if not reason or " " in ident:
                bad.append(f"{path}:{n}: {line!r}")
                continue
            ignores[ident.upper()] = reason
    if bad:
        print("ignore entries need the form `ID  # reason`:", *bad, sep="\n  ", file=sys.stderr)
        sys.exit(2)
    return ignores


def first_line(text: str, width: int = 90) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= width else text[: width - 1] + "…"


def stale(ignores: dict[str, str], used: set[str]) -> None:
    for ident in sorted(set(ignores) - used):
        print(f"  note: ignore entry {ident} matches no current finding (remove it?)")


def pip_report(report: str, ignore_file: str) -> int:
    ignores = read_ignores(ignore_file)
    with open(report, encoding="utf-8") as f:
        deps = json.load(f)["dependencies"]
    skipped = [d for d in deps if "skip_reason" in d]
    audited = len(deps) - len(skipped)
    findings, ignored, used = [], [], set()
    for d in deps:
        for v in d.get("vulns", []):
            ids = [v["id"], *v.get("aliases", [])]
            hit = next((i for i in ids if i.upper() in ignores), None)
            row = (d["name"], d["version"], v["id"], v.get("fix_versions", []), v.get("description", ""))
            if hit:
                used.add(hit.upper())
                ignored.append((*row, hit, ignores[hit.upper()]))
            else:
                findings.append(row)
    print(
        f"pip-audit: {audited} packages audited, {len(skipped)} skipped, "
        f"{len(findings) + len(ignored)} findings: {len(ignored)} ignored with a reason, "
        f"{len(findings)} not ignored"
    )
    for name, _, why in ((d["name"], None, d["skip_reason"]) for d in skipped):
        print(f"  SKIPPED {name}: {why}")
    for name, ver, vid, fix, desc in findings:
        fixed = ", ".join(fix) or "no fixed release"
        print(f"  FINDING {vid} {name}=={ver} (fixed in: {fixed}) {first_line(desc)}")
    for name, ver, vid, _, _, hit, reason in ignored:
        via = "" if hit == vid else f" as {hit}"
        print(f"  ignored {vid}{via} {name}=={ver}: {reason}")
    stale(ignores, used)
    return 1 if findings or skipped else 0


def npm_report(report: str, ignore_file: str) -> int:
    ignores = read_ignores(ignore_file)
    with open(report, encoding="utf-8") as f:
        text = f.read()
    try:
        data = json.loads(text) if text.strip() else {}
    except ValueError:
        data = {}
    if "vulnerabilities" not in data:
        why = data.get("message") or data.get("error", {}).get("summary") or first_line(text)
        uri = data.get("uri", "the registry's audit endpoint")
        return blocked("npm audit", uri, why or "no report")
    advisories: dict[str, dict] = {}  # one row per advisory, not per package it reaches
    for vuln in data["vulnerabilities"].values():
        for via in vuln.get("via", []):
            if isinstance(via, dict):
                advisories.setdefault(str(via.get("source") or via.get("url")), via)
    gated = [a for a in advisories.values() if a.get("severity") in NPM_GATE]
    findings, ignored, used = [], [], set()
    for a in gated:
        ghsa = re.search(r"GHSA(-[0-9a-z]{4}){3}", a.get("url", ""), re.I)
        ids = [ghsa.group(0)] if ghsa else []
        ids.append(str(a.get("source", "")))
        hit = next((i for i in ids if i.upper() in ignores), None)
        (ignored if hit else findings).append((a, ids[0], hit))
        if hit:
            used.add(hit.upper())
    deps = data.get("metadata", {}).get("dependencies", {})
    counts = data.get("metadata", {}).get("vulnerabilities", {})
    by_sev = ", ".join(f"{counts.get(s, 0)} {s}" for s in ("critical", "high", "moderate", "low"))
    print(
        f"npm audit: {deps.get('total', '?')} packages audited ({deps.get('prod', '?')} prod); "
        f"vulnerable packages: {by_sev}; {len(gated)} high/critical advisories: "
        f"{len(ignored)} ignored with a reason, {len(findings)} not ignored"
    )
    for a, ident, _ in findings:
        print(f"  FINDING {ident} {a.get('severity')} {a.get('name')} {a.get('range')}: {a.get('title')}")
    for a, ident, hit in ignored:
        print(f"  ignored {ident} {a.get('name')}: {ignores[hit.upper()]}")
    stale(ignores, used)
    return 1 if findings else 0


def main(argv: list[str]) -> int:
    if len(argv) >= 2 and argv[0] == "probe":
        return probe(argv[1], argv[2] if len(argv) > 2 else "")
    if len(argv) == 3 and argv[0] == "pip":
        return pip_report(argv[1], argv[2])
    if len(argv) == 3 and argv[0] == "npm":
        return npm_report(argv[1], argv[2])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
