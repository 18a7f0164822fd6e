"""Run the checkout: migrate the databases, start the four services, supervise them.

    python run_services.py

Ctrl-C (or SIGTERM) stops all four. Configuration comes from the environment (see the
README); tokens that are not set there are generated once, kept in ``data/tokens.env``
and reused on every later start.
"""

from __future__ import annotations

import sys

try:
    from checkout.launcher import main
except ImportError:
    sys.exit("The checkout package is not installed here: run `pip install -e .` first.")

if __name__ == "__main__":
    sys.exit(main())
