"""The Redis lock store across replicas (bot/lock_store.py), on the machine's real Redis: two
stores, as two replicas, hammer one conversation; every message gets the lock, one at a time.
(Rasa's own RedisLockStore lost messages this way: 1 to 3 of tests/production's 32 concurrent
messages on one conversation failed with it.)"""
from __future__ import annotations

import asyncio
import threading
import uuid

from rasa.core.lock_store import LockError

from bot.lock_store import AtomicRedisLockStore
from tests.db_fixtures import machine_redis


def _hammer(store_class, conversation: str, replicas: int = 2, tasks: int = 8, rounds: int = 4):
    """(failures, overlaps): messages that never got the lock, and moments two held it."""
    holders, overlaps, failures = [], [], []
    guard = threading.Lock()

    def replica():
        store = store_class(host="127.0.0.1", port=6379, db=10, key_prefix="locktest")

        async def message():
            for _ in range(rounds):
                try:
                    async with store.lock(conversation, lock_lifetime=3, wait_time_in_seconds=0.01):
                        with guard:
                            holders.append(1)
                            if len(holders) > 1:
                                overlaps.append(len(holders))
                        await asyncio.sleep(0.005)
                        with guard:
                            holders.pop()
                except LockError:
                    failures.append(1)

        async def main():
            await asyncio.gather(*(message() for _ in range(tasks)))

        asyncio.run(main())

    threads = [threading.Thread(target=replica) for _ in range(replicas)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return len(failures), len(overlaps)


def test_two_replicas_share_one_conversation_lock_without_losing_a_message():
    machine_redis(db=10)
    failures, overlaps = _hammer(AtomicRedisLockStore, f"conv-{uuid.uuid4().hex}")
    assert (failures, overlaps) == (0, 0)
