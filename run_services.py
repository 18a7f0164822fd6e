"""Run the checkout: migrate the databases, start the four services, supervise them.

    python run_services.py

Ctrl-C (or SIGTERM) stops all four. Configuration comes from the environment (see the
README); tokens that are not set are generated for this run and written to
``data/tokens.env``.
"""

from __future__ import annotations

import sys

try:
    from checkout.launcher import main
except ImportError:
    sys.exit("The checkout package is not installed here: run `pip install -e .` first.")

if __name__ == "__main__":
    sys.exit(main())
