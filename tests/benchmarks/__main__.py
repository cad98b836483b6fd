"""`python -m tests.benchmarks` (what `make bench` runs): see tests/benchmarks/harness.py."""

import sys

from tests.benchmarks.harness import main

sys.exit(main())
