"""What the kernel says about file locks (for tests of writers taking turns)."""

from __future__ import annotations

from pathlib import Path


def flock_waiters(path: Path) -> int:
    """How many holders wait for a `flock` on `path` (the kernel's /proc/locks lists them with "->")."""
    inode = f":{path.stat().st_ino} "
    return sum(1 for line in Path("/proc/locks").read_text().splitlines() if "->" in line and inode in line)
