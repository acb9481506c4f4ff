"""cs_convnet: convolutional networks from scratch, in the style of Stanford CS231n.

What learners write sits between ``### BEGIN SOLUTION`` / ``### END SOLUTION``
in ``layers.py``, ``optim.py`` and ``classifiers/``; everything else is provided.
"""

__version__ = "0.1.0"
