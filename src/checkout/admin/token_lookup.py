"""Where ``checkout sagas`` looks for the admin token when it is given none.

``run_services.py`` keeps its tokens in ``data/tokens.env`` under the folder it was
started from, while the CLI may run from any folder of the project (or outside it, in
an editable install). So the CLI looks where the launcher writes, from wherever it is:
``$CHECKOUT_TOKENS_FILE`` alone when set; else ``$CHECKOUT_DATA_DIR`` (relative to this
folder or to the project); else this folder, the ``data`` folder here and in every
parent up to the project's root, and the ``data`` folder of the project the package
is installed from. When none holds an admin token, the error lists every place.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import checkout
from checkout.admin.token_file import (
    DATA_DIR_VARIABLE,
    DEFAULT_DATA_DIR,
    TOKENS_FILE,
    TOKENS_FILE_VARIABLE,
    read_tokens,
)

ADMIN_TOKEN = "ADMIN_TOKEN"
LAUNCHER = "run_services.py"


class NoAdminToken(Exception):
    """No ``--token``, no ``ADMIN_TOKEN`` and no token file with one: the message says
    where the CLI looked and what to do."""


@dataclass(frozen=True)
class FoundToken:
    token: str
    path: Path


def installed_project_root() -> Path | None:
    """The project folder (holding ``run_services.py``) of an editable install."""
    root = Path(checkout.__file__).resolve().parents[2]  # src/checkout/__init__.py
    return root if (root / LAUNCHER).is_file() else None


def token_file_candidates(
    *, cwd: Path, environ: Mapping[str, str], project_root: Path | None
) -> list[Path]:
    """The files that may hold the admin token, the most specific first."""
    if explicit := environ.get(TOKENS_FILE_VARIABLE):
        return [cwd / Path(explicit).expanduser()]
    roots = [cwd, *([project_root] if project_root is not None else [])]
    if data_dir := environ.get(DATA_DIR_VARIABLE):
        return _unique([root / Path(data_dir).expanduser() / TOKENS_FILE for root in roots])
    candidates = [cwd / TOKENS_FILE]
    for folder in _up_to_project_root(cwd):
        candidates.append(folder / DEFAULT_DATA_DIR / TOKENS_FILE)
    if project_root is not None:
        candidates.append(project_root / DEFAULT_DATA_DIR / TOKENS_FILE)
    return _unique(candidates)


def find_admin_token(candidates: Sequence[Path]) -> FoundToken:
    """The admin token of the first candidate that holds one; else :class:`NoAdminToken`."""
    looked = []
    for path in candidates:
        if not path.is_file():
            looked.append(f"  {path} (no such file)")
            continue
        if token := read_tokens(path).get(ADMIN_TOKEN):
            return FoundToken(token, path)
        looked.append(f"  {path} (holds no {ADMIN_TOKEN})")
    raise NoAdminToken(
        "No admin token: pass --token, set ADMIN_TOKEN, or set "
        f"{TOKENS_FILE_VARIABLE} to the {TOKENS_FILE} that {LAUNCHER} keeps.\n"
        "Looked for it in:\n" + "\n".join(looked) + "\n"
        f"Start the services once with `python {LAUNCHER}` (or `checkout run`) from the "
        f"project folder: it generates the tokens and keeps them in "
        f"{DEFAULT_DATA_DIR}/{TOKENS_FILE} there."
    )


def _up_to_project_root(cwd: Path) -> list[Path]:
    # Outside any project, the parents are unrelated folders: only cwd's own counts.
    folders = [cwd.resolve(), *cwd.resolve().parents]
    for depth, folder in enumerate(folders):
        if (folder / LAUNCHER).is_file() or (folder / ".git").exists():
            return folders[: depth + 1]
    return folders[:1]


def _unique(paths: Sequence[Path]) -> list[Path]:
    return list(dict.fromkeys(path.resolve() for path in paths))
