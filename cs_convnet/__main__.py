"""``python -m cs_convnet ...`` runs the ``cs-convnet`` command."""

import sys

from cs_convnet.cli import main

sys.exit(main())
