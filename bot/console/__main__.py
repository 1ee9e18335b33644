"""Console tasks from the command line (each has a `make` verb):

  python -m bot.console admin                  create an admin account (prompts)      make admin
  python -m bot.console export-training-data   corrections -> data/*.yml, as a diff   make export-training-data
  python -m bot.console retrain                train, evaluate, promote or refuse     make retrain
  python -m bot.console retention              delete conversations past RETENTION_DAYS   make retention
  python -m bot.console export-conversation ID     one visitor's conversation as JSON (redacted)
  python -m bot.console delete-conversation ID     delete one visitor's conversation on request

Every task that changes data is written to the audit log as user "system" (or --user).
"""
from __future__ import annotations

import argparse
import getpass
import json
import sys
from typing import List, Optional

from bot.settings import get_settings


def _admin(args: argparse.Namespace) -> int:
    from bot.console import accounts
    from bot.console.audit import audit
    from bot.db.engine import session_scope
    from bot.db.migrate import upgrade

    username = args.username or input("Admin username: ").strip()
    password = getpass.getpass("Password (at least 12 characters): ")
    if password != getpass.getpass("Repeat the password: "):
        print("The passwords do not match.", file=sys.stderr)
        return 2
    upgrade()
    try:
        with session_scope() as session:
            user = accounts.create_user(session, username, password, "admin")
            audit(session, "system", "user_create", user.username, role="admin", source="make admin")
    except accounts.AccountError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"Admin {username!r} created. Log in at http://localhost:{get_settings().web_port}/console")
    return 0


def _export_training_data(args: argparse.Namespace) -> int:
    from bot.console.training_data import export_training_data_command

    return export_training_data_command(get_settings().training_root, dry_run=args.dry_run)


def _retrain(args: argparse.Namespace) -> int:
    from bot.console import gate

    if args.run_id is not None:  # started by the console as a background process
        return gate.run_retrain_command(args.run_id)
    return gate.retrain_command(user=args.user)


def _retention(args: argparse.Namespace) -> int:
    from bot.console import logs
    from bot.console.audit import audit
    from bot.db.engine import session_scope

    days = args.days if args.days is not None else get_settings().retention_days
    if days <= 0:
        print("Retention is off (RETENTION_DAYS=0): nothing deleted.")
        return 0
    with session_scope() as session:
        logs.sync(session)
        deleted = logs.delete_older_than(session, days)
        audit(session, args.user, "retention", f"{days} days", deleted=deleted)
    print(f"Deleted {deleted} conversation(s) with no activity in the last {days} days.")
    return 0


def _export_conversation(args: argparse.Namespace) -> int:
    from bot.console import logs
    from bot.console.audit import audit
    from bot.db.engine import session_scope

    with session_scope() as session:
        logs.sync(session)
        turns = logs.conversation_turns(session, args.sender_id, reveal=args.reveal)
        if not turns:
            print(f"No conversation {args.sender_id!r}.", file=sys.stderr)
            return 1
        audit(session, args.user, "export", args.sender_id, reveal=args.reveal, source="cli")
    json.dump({"sender_id": args.sender_id, "turns": turns}, sys.stdout, indent=2, default=str)
    print()
    return 0


def _delete_conversation(args: argparse.Namespace) -> int:
    from bot.console import logs
    from bot.console.audit import audit
    from bot.db.engine import session_scope

    with session_scope() as session:
        logs.sync(session)
        deleted = logs.delete_conversation(session, args.sender_id)
        audit(session, args.user, "delete", args.sender_id, source="cli", found=bool(deleted))
    if not deleted:
        print(f"No conversation {args.sender_id!r}.", file=sys.stderr)
        return 1
    print(f"Deleted conversation {args.sender_id!r}.")
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bot.console", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    admin = sub.add_parser("admin", help="create an admin account (prompts for the password)")
    admin.add_argument("--username")
    admin.set_defaults(func=_admin)
    export = sub.add_parser("export-training-data", help="write pending corrections into data/")
    export.add_argument("--dry-run", action="store_true", help="print the diff, write nothing")
    export.set_defaults(func=_export_training_data)
    retrain = sub.add_parser("retrain", help="train a candidate, evaluate it, promote or refuse")
    retrain.add_argument("--run-id", type=int, help=argparse.SUPPRESS)
    retrain.set_defaults(func=_retrain)
    retention = sub.add_parser("retention", help="delete conversations older than the setting")
    retention.add_argument("--days", type=int, help="override RETENTION_DAYS")
    retention.set_defaults(func=_retention)
    for name, func, text in (
        ("export-conversation", _export_conversation, "print one conversation as JSON"),
        ("delete-conversation", _delete_conversation, "delete one conversation"),
    ):
        command = sub.add_parser(name, help=text)
        command.add_argument("sender_id")
        command.set_defaults(func=func)
        if name == "export-conversation":
            command.add_argument("--reveal", action="store_true",
                                 help="include personal data (audit-logged)")
    for command in sub.choices.values():
        command.add_argument("--user", default="system", help="name recorded in the audit log")
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
