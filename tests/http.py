"""Raw HTTP to a running stack's REST channel, for the end-to-end tests: the status and JSON body
of every answer, never an exception for an HTTP status or a server that does not answer."""
from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any, Dict, List, Optional, Tuple

REST_PATH = "/webhooks/rest/webhook"
REFERRAL = "Please talk with your doctor"


def raw_post(url: str, body: bytes, content_type: Optional[str] = "application/json",
             headers: Optional[Dict[str, str]] = None, timeout: float = 60) -> Tuple[int, Any]:
    """(status, body as JSON when it is JSON); status 0 when nothing answered (what a visitor
    would see as silence)."""
    request = urllib.request.Request(url, data=body, method="POST", headers=dict(headers or {}))
    if content_type is not None:
        request.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            payload, status = response.read(), response.status
    except urllib.error.HTTPError as error:
        payload, status = error.read(), error.code
    except (TimeoutError, OSError, urllib.error.URLError) as error:
        return 0, f"no answer: {error}"
    try:
        return status, json.loads(payload)
    except ValueError:
        return status, payload.decode("utf-8", "replace")


def message(stack_url: str, sender: Any, text: Any, **kwargs: Any) -> Tuple[int, Any]:
    """One visitor message to the REST channel of the server at `stack_url`."""
    return raw_post(stack_url + REST_PATH, json.dumps({"sender": sender, "message": text}).encode(),
                    **kwargs)


def texts(body: Any) -> List[str]:
    return [m.get("text", "") for m in body] if isinstance(body, list) else []
