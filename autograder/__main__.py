"""``python -m autograder``: the same as ``cs-convnet-course``."""

import sys

from .cli import main

sys.exit(main())
