"""Rasa's Redis lock store, with its ticket bookkeeping made atomic across replicas.

Rasa's RedisLockStore keeps a conversation's tickets as one Redis value and changes it by
read-modify-write: issue a ticket (get, add, set), finish one (get, remove, set), then delete
the lock if nobody waits (get, del). Within one Rasa process these run without an `await` in
between, but two replicas interleave them: one deletes the lock just as the other adds its
ticket, or overwrites it. The waiting message then finds no lock and fails with LockError
("Could not acquire lock"): 1 to 3 of 32 messages sent at once on one conversation through
two replicas (tests/production/test_replicas.py).

Here each of those steps holds a short Redis mutex for the conversation (redis-py's Lock: SET
NX with an expiry, so a replica killed while holding it frees it within MUTEX_S).

Configured in deploy/prod/endpoints.yml as `type: bot.lock_store.AtomicRedisLockStore`, with
RedisLockStore's settings.
"""
from __future__ import annotations

from typing import Any, Optional, Text

from rasa.core.lock_store import LOCK_LIFETIME, RedisLockStore
from rasa.utils.endpoints import EndpointConfig

MUTEX_S = 5.0


class AtomicRedisLockStore(RedisLockStore):
    def __init__(self, endpoint_config: Optional[EndpointConfig] = None, **kwargs: Any) -> None:
        if endpoint_config is not None:  # how Rasa creates a lock store named by its module path
            kwargs = {"host": endpoint_config.url or "localhost", **endpoint_config.kwargs, **kwargs}
        kwargs.pop("type", None)
        super().__init__(**kwargs)

    def _mutex(self, conversation_id: Text) -> Any:
        return self.red.lock(f"{self.key_prefix}mutex:{conversation_id}", timeout=MUTEX_S,
                             blocking_timeout=MUTEX_S)

    def issue_ticket(self, conversation_id: Text, lock_lifetime: float = LOCK_LIFETIME) -> int:
        with self._mutex(conversation_id):
            return super().issue_ticket(conversation_id, lock_lifetime)

    def update_lock(self, conversation_id: Text) -> None:
        with self._mutex(conversation_id):
            super().update_lock(conversation_id)

    def cleanup(self, conversation_id: Text, ticket_number: int) -> None:
        with self._mutex(conversation_id):
            super().cleanup(conversation_id, ticket_number)
