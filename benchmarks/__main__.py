"""`python -m benchmarks`: every benchmark, a table, then the JSON summary."""

import sys

from benchmarks.run import main

sys.exit(main())
