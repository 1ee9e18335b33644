"""`python -m bot.rasa_server run ...`: Rasa's own command line, with a fix to Rasa 3.6.21 applied
first. bot/serve.py starts the Rasa server this way; every argument is Rasa's.

The fix (found by profiling the server under load with py-spy, issue 6): Rasa checks every
action server response with `jsonschema.validate(result, schema)`. With jsonschema 4.17 (what
Rasa 3.6 allows) that call first validates the *schema itself* against the JSON Schema
meta-schema, every time. It was two thirds of the Rasa server's CPU per message under load
(16 visitors: 7.9 messages/s, p50 2.0 s). Here the validator is built once and each response
is checked against the same schema, with the same error Rasa raises.
"""
from __future__ import annotations

import sys
from typing import Any, Dict, List, Optional, Text

_validator: Any = None


def _action_response_validator() -> Any:
    global _validator
    if _validator is None:
        from jsonschema.validators import validator_for
        from rasa.core.actions.action import RemoteAction

        schema = RemoteAction.action_response_format_spec()
        cls = validator_for(schema)
        cls.check_schema(schema)  # once, not per response
        _validator = cls(schema)
    return _validator


def validate_action_result(self: Any, result: Dict[Text, Any]) -> bool:
    """RemoteAction._validate_action_result, with the validator built once."""
    from jsonschema.exceptions import best_match
    from rasa.shared.constants import DOCS_BASE_URL

    error = best_match(_action_response_validator().iter_errors(result))
    if error is None:
        return True
    error.message += (
        f". Failed to validate Action server response from API, "
        f"make sure your response from the Action endpoint is valid. "
        f"For more information about the format visit "
        f"{DOCS_BASE_URL}/custom-actions"
    )
    raise error


def apply_fixes() -> None:
    from rasa.core.actions.action import RemoteAction

    RemoteAction._validate_action_result = validate_action_result


def main(argv: Optional[List[str]] = None) -> None:
    apply_fixes()
    from rasa.__main__ import main as rasa_main

    sys.argv = ["rasa", *(sys.argv[1:] if argv is None else argv)]
    rasa_main()


if __name__ == "__main__":
    main()
