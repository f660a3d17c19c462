"""`python -m benchmarks`: see benchmarks/run.py, the runner."""

import sys

from benchmarks.run import main

sys.exit(main())
