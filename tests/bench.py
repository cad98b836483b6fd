"""`make bench`: how long the demo county and a full refresh take, and how much memory they use.

Figures are printed, never asserted: speed targets live here, not in the tests. Target: the
county-scale refresh (the full demo) in under a minute on a 2-core machine.
"""

from __future__ import annotations

import resource
import sys
import tempfile
import time
from pathlib import Path

from pipelines.cli import run_pipeline
from tests.pipelines.conftest import write_settings


def timed(label: str, action):
    started = time.perf_counter()
    value = action()
    print(f"{label:<40} {time.perf_counter() - started:8.1f} s", flush=True)
    return value


def main() -> int:
    from sources.demo import write_demo_county

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        demo = folder / "demo"
        manifest = timed("demo county (500 LSOAs, 36 months)", lambda: write_demo_county(demo))
        print(f"  {manifest.summary()}")
        settings = write_settings(folder, demo)
        ok = timed("full refresh (all assets and checks)", lambda: run_pipeline(settings))
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"{'peak resident memory':<40} {peak_mb:8.0f} MB")
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
