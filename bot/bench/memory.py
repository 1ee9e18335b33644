"""Peak memory (RSS) of a process and its children, from /proc (Linux; no psutil).

The kernel keeps each process's own peak (VmHWM), so sampling cannot miss a short spike; the
sampler only has to see every process of the tree while it is alive. The peak of a service is
the sum over its processes of their peaks (an upper bound of the peak of the sum, which is
what the host has to provide).
"""
from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Dict, Iterable, List, Mapping, Optional

PROC = Path("/proc")


def status_kb(text: str, key: str) -> Optional[int]:
    """A `kB` field (VmHWM, VmRSS) of a /proc/<pid>/status text."""
    for line in text.splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return None


def parent_map(proc: Path = PROC) -> Dict[int, int]:
    """{pid: parent pid} of every process now running."""
    parents: Dict[int, int] = {}
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # exited meanwhile
        # The command name (field 2) is in parentheses and may hold spaces: split after it.
        parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    return parents


def descendants(root: int, parents: Mapping[int, int]) -> List[int]:
    """`root` and every process below it."""
    children: Dict[int, List[int]] = {}
    for pid, ppid in parents.items():
        children.setdefault(ppid, []).append(pid)
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        if pid in found:
            continue
        found.append(pid)
        todo += children.get(pid, [])
    return found


def _read_status(pid: int, proc: Path = PROC) -> str:
    try:
        return (proc / str(pid) / "status").read_text()
    except OSError:
        return ""


class PeakMemory:
    """Tracks the peak RSS of named process trees: {name: root pid}."""

    def __init__(self, roots: Mapping[str, int], proc: Path = PROC) -> None:
        self.roots = dict(roots)
        self.proc = proc
        self._peaks: Dict[str, Dict[int, int]] = {name: {} for name in roots}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None

    def sample(self) -> None:
        parents = parent_map(self.proc)
        with self._lock:
            for name, root in self.roots.items():
                for pid in descendants(root, parents):
                    hwm = status_kb(_read_status(pid, self.proc), "VmHWM")
                    if hwm is not None:
                        peaks = self._peaks[name]
                        peaks[pid] = max(peaks.get(pid, 0), hwm)

    def peak_mb(self) -> Dict[str, Optional[float]]:
        """{name: peak RSS in MB (10^6 bytes)}; None if never seen."""
        with self._lock:
            return {name: (sum(p.values()) * 1024 / 1e6 if p else None)
                    for name, p in self._peaks.items()}

    def start(self, interval_s: float = 1.0) -> "PeakMemory":
        def run() -> None:
            while not self._stop.wait(interval_s):
                self.sample()

        self.sample()
        self._thread = threading.Thread(target=run, name="bench-memory", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> Dict[str, Optional[float]]:
        """Last sample (the services are still running), then the peaks."""
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)
        self.sample()
        return self.peak_mb()


def alive(pids: Iterable[int]) -> List[int]:
    """The pids that still exist (zombies included until reaped)."""
    result = []
    for pid in pids:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            continue
        except PermissionError:
            pass
        result.append(pid)
    return result
