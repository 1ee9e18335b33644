"""`python -m bot.db upgrade|downgrade|current|revision` on the configured DB_URL (or --url)."""
from __future__ import annotations

import argparse
import sys
from typing import List, Optional

from alembic import command

from bot.db import migrate
from bot.db.engine import resolve_url


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.db", description=__doc__)
    parser.add_argument("--url", help="database URL (default: DB_URL, else SQLite under var/)")
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("upgrade", help="migrate to a revision (default: head)")
    up.add_argument("revision", nargs="?", default="head")
    down = sub.add_parser("downgrade", help="migrate down to a revision (e.g. -1, base)")
    down.add_argument("revision")
    sub.add_parser("current", help="print the database's current revision")
    rev = sub.add_parser("revision", help="autogenerate a new migration from the models")
    rev.add_argument("-m", "--message", required=True)
    args = parser.parse_args(argv)

    url = resolve_url(args.url)
    if args.command == "upgrade":
        migrate.upgrade(url, args.revision)
        print(f"database at {migrate.current(url)}")
    elif args.command == "downgrade":
        migrate.downgrade(url, args.revision)
        print(f"database at {migrate.current(url)}")
    elif args.command == "current":
        print(migrate.current(url) or "(no revision)")
    elif args.command == "revision":
        command.revision(migrate.alembic_config(url), message=args.message, autogenerate=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
