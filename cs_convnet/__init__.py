"""cs_convnet: convolutional networks from scratch, in the style of Stanford CS231n.

What learners write sits between ``### BEGIN SOLUTION`` / ``### END SOLUTION``
in ``layers.py``, ``optim.py``, ``classifiers/fc_net.py`` and ``classifiers/cnn.py``
(:data:`cs_convnet.boundary.LEARNER_FILES`); everything else is provided.
"""

from . import idle_threads

idle_threads.apply()  # before any submodule loads numpy and its OpenBLAS

__version__ = "0.1.0"
