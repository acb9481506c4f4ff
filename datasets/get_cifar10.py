#!/usr/bin/env python3
"""Fetch CIFAR-10 (python version) into datasets/cifar-10-batches-py.

    python datasets/get_cifar10.py                       # download, check MD5, extract
    python datasets/get_cifar10.py --archive PATH.tar.gz # offline: a local archive
    python datasets/get_cifar10.py --folder PATH         # offline: a local cifar-10-batches-py
    CS_CONVNET_CIFAR10=PATH python datasets/get_cifar10.py

The same command is `cs-convnet data`; the work is done by cs_convnet.data.
"""

import sys
from pathlib import Path

try:
    from cs_convnet.data import main
except ImportError:  # run from a checkout where the package is not installed
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from cs_convnet.data import main

if __name__ == "__main__":
    sys.exit(main(prog="python datasets/get_cifar10.py"))
