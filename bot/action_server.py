"""`python -m bot.action_server --actions actions ...`: rasa_sdk's action server, without
TensorFlow. bot/serve.py starts the action server this way; every argument is rasa_sdk's.

spaCy's thinc imports TensorFlow whenever it is installed (Rasa needs it, so it is), although
the action server never uses it: 435 of the server's 528 MB peak (issue 6, measured by
`make bench`). Marking the module absent before anything imports spaCy makes thinc's import
fail the way it does where TensorFlow is not installed, so thinc runs without it.
"""
from __future__ import annotations

import sys


def main() -> None:
    sys.modules.setdefault("tensorflow", None)  # type: ignore[arg-type]
    from rasa_sdk.__main__ import main as sdk_main

    sdk_main()


if __name__ == "__main__":
    main()
