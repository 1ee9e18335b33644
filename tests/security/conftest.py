"""Helpers for the hostile-input tests: raw HTTP to the running stack, never raising on a status."""
from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any, Dict, Optional, Tuple

REST_PATH = "/webhooks/rest/webhook"
REFERRAL = "Please talk with your doctor"


def raw_post(url: str, body: bytes, content_type: Optional[str] = "application/json",
             headers: Optional[Dict[str, str]] = None, timeout: float = 60) -> Tuple[int, Any]:
    request = urllib.request.Request(url, data=body, method="POST", headers=dict(headers or {}))
    if content_type is not None:
        request.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            payload = response.read()
            status = response.status
    except urllib.error.HTTPError as error:
        payload, status = error.read(), error.code
    try:
        return status, json.loads(payload)
    except ValueError:
        return status, payload.decode("utf-8", "replace")


def message(stack_url: str, sender: Any, text: Any, **kwargs: Any) -> Tuple[int, Any]:
    return raw_post(stack_url + REST_PATH, json.dumps({"sender": sender, "message": text}).encode(),
                    **kwargs)


def texts(body: Any):
    return [m.get("text", "") for m in body] if isinstance(body, list) else []
