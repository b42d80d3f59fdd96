"""Entry point of the frozen app (PyInstaller runs a script, not a package's __main__)."""

import sys

from assistant.__main__ import main

if __name__ == "__main__":
    sys.exit(main())
