"""Turn a configured glob or path into the list of input files, failing clearly when nothing matches."""

from __future__ import annotations

import glob
import os
from pathlib import Path


def expand(pattern: str | Path) -> list[Path]:
    """Sorted absolute paths matching a glob (``*``, ``?``, ``[..]``, ``**``) or naming one file.

    Relative patterns are read from the current folder. Raises FileNotFoundError naming the
    pattern when nothing matches, so a typo in settings fails loudly instead of reading nothing.
    """
    text = os.path.expanduser(str(pattern))
    files = sorted(
        {Path(p).resolve() for p in glob.glob(text, recursive=True) if Path(p).is_file()}
    )
    if not files:
        raise FileNotFoundError(f"no input files match {str(pattern)!r} (looked from {Path.cwd()})")
    return files


def expand_single(pattern: str | Path) -> Path:
    """The one file a pattern names; several matches are an error, not a silent first pick."""
    files = expand(pattern)
    if len(files) > 1:
        shown = ", ".join(str(f) for f in files[:5]) + (" ..." if len(files) > 5 else "")
        raise ValueError(
            f"{str(pattern)!r} matches {len(files)} files but this input takes one file: {shown}"
        )
    return files[0]
