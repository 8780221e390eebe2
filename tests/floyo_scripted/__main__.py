"""``python -m floyo_scripted`` (from ``tests/``): the scripted server's command line."""

import sys

from floyo_scripted.cli import main

if __name__ == "__main__":
    sys.exit(main())
