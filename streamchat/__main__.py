"""`python -m streamchat`: the same as the `streamchat` command."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
