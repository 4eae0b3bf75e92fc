"""Writing a bench's table into bench/README.md: one section replaced, every other left as it is."""

from __future__ import annotations

from pathlib import Path

README = Path(__file__).resolve().parent / "README.md"


def write_section(header: str, section: str, readme: Path = README) -> None:
    """Replace the section that starts with the line `header` (e.g. "## Geofences") by `section`, which
    starts with that line too, up to the next "## " heading; append it when there is none yet."""
    text = readme.read_text() if readme.exists() else "# Benchmarks\n\n"
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.strip() == header), None)
    if start is None:
        new = text.rstrip("\n") + "\n\n" + section
    else:
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
        new = "\n".join([*lines[:start], *section.rstrip("\n").splitlines(), "", *lines[end:]])
    readme.write_text(new.rstrip("\n") + "\n")
