"""`python -m bot.contraindications load [--file data/contraindications.yml] [--url URL]`
migrates the database (DB_URL by default) to head and loads the data file, printing counts.

`python -m bot.contraindications match "I don't have high BP but I had a stroke"` shows what
the matcher finds in a message, against the loaded database (for content editors).
"""
from __future__ import annotations

import argparse
import sys
from typing import List, Optional

from bot.contraindications.loader import DEFAULT_DATA_FILE, DataFileError, load


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.contraindications", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="database URL (default: DB_URL, else SQLite under var/)")
    sub = parser.add_subparsers(dest="command", required=True)
    load_cmd = sub.add_parser("load", help="migrate the database and load the data file")
    load_cmd.add_argument("--file", default=str(DEFAULT_DATA_FILE), help="YAML data file")
    match_cmd = sub.add_parser("match", help="show what the matcher finds in a message")
    match_cmd.add_argument("message")
    args = parser.parse_args(argv)

    if args.command == "load":
        try:
            report = load(args.file, url=args.url)
        except DataFileError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        print(f"contraindications loaded from {args.file}: {report.summary()}")
        return 0

    from bot.contraindications.matcher import get_matcher
    from bot.contraindications.repository import load_catalog

    result = get_matcher(load_catalog(args.url).synonyms).find(args.message)
    print(f"affirmed: {list(result.affirmed)}")
    print(f"denied:   {list(result.denied)}")
    print(f"unknown:  {list(result.unknown)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
