"""The launcher's tokens: generated once, kept owner-only in tokens.env, reused after."""

from __future__ import annotations

from collections.abc import Mapping
from itertools import count
from pathlib import Path

from checkout.admin.token_file import (
    KeptTokens,
    keep_tokens,
    kept_tokens_path,
    read_tokens,
    write_tokens,
)


class CountingGenerator:
    """Fresh, distinct tokens on every call, like ``generated_tokens``."""

    def __init__(self) -> None:
        self.calls = count(1)

    def __call__(self) -> Mapping[str, str]:
        n = next(self.calls)
        return {"SERVICE_TOKEN": f"service-{n}", "ADMIN_TOKEN": f"admin-{n}"}


def start(path: Path, environ: Mapping[str, str] | None = None) -> KeptTokens:
    return keep_tokens(path, environ or {}, CountingGenerator())


def test_generated_tokens_are_reused_on_the_next_start(tmp_path: Path) -> None:
    path = tmp_path / "data" / "tokens.env"

    first = start(path)
    second = start(path)

    assert first.tokens == {"SERVICE_TOKEN": "service-1", "ADMIN_TOKEN": "admin-1"}
    assert first.generated == ("SERVICE_TOKEN", "ADMIN_TOKEN")
    assert second.tokens == first.tokens
    assert second.generated == ()


def test_the_token_file_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "tokens.env"

    start(path)

    assert path.stat().st_mode & 0o777 == 0o600


def test_a_kept_file_with_looser_permissions_is_narrowed_to_its_owner(tmp_path: Path) -> None:
    path = tmp_path / "tokens.env"
    path.write_text("SERVICE_TOKEN=s\nADMIN_TOKEN=a\n")
    path.chmod(0o644)

    start(path)

    assert path.stat().st_mode & 0o777 == 0o600


def test_an_environment_token_wins_and_is_not_written_down(tmp_path: Path) -> None:
    path = tmp_path / "tokens.env"
    start(path)

    kept = start(path, {"ADMIN_TOKEN": "from-the-environment"})

    assert kept.tokens == {"SERVICE_TOKEN": "service-1", "ADMIN_TOKEN": "from-the-environment"}
    assert kept.from_environment == ("ADMIN_TOKEN",)
    assert read_tokens(path)["ADMIN_TOKEN"] == "admin-1"


def test_with_every_token_in_the_environment_no_file_is_written(tmp_path: Path) -> None:
    path = tmp_path / "tokens.env"

    kept = start(path, {"SERVICE_TOKEN": "s", "ADMIN_TOKEN": "a"})

    assert kept.tokens == {"SERVICE_TOKEN": "s", "ADMIN_TOKEN": "a"}
    assert not path.exists()


def test_a_token_missing_from_the_file_is_generated_and_the_kept_one_stays(
    tmp_path: Path,
) -> None:
    path = tmp_path / "tokens.env"
    path.write_text("ADMIN_TOKEN=kept-admin\n")

    kept = start(path)

    assert kept.generated == ("SERVICE_TOKEN",)
    assert read_tokens(path) == {"ADMIN_TOKEN": "kept-admin", "SERVICE_TOKEN": "service-1"}


def test_reading_skips_comments_blank_lines_and_empty_values(tmp_path: Path) -> None:
    path = tmp_path / "tokens.env"
    path.write_text("# a comment\n\nADMIN_TOKEN = a \nSERVICE_TOKEN=\nnot a pair\n")

    assert read_tokens(path) == {"ADMIN_TOKEN": "a"}


def test_what_is_written_reads_back(tmp_path: Path) -> None:
    path = tmp_path / "tokens.env"

    write_tokens(path, {"SERVICE_TOKEN": "s", "ADMIN_TOKEN": "a"})

    assert read_tokens(path) == {"SERVICE_TOKEN": "s", "ADMIN_TOKEN": "a"}
    assert [p.name for p in tmp_path.iterdir()] == ["tokens.env"]


def test_the_tokens_live_in_the_data_folder_unless_a_file_is_named() -> None:
    assert kept_tokens_path({}) == Path("data/tokens.env")
    assert kept_tokens_path({"CHECKOUT_DATA_DIR": "/srv/checkout"}) == Path(
        "/srv/checkout/tokens.env"
    )
    assert kept_tokens_path(
        {"CHECKOUT_DATA_DIR": "/srv/checkout", "CHECKOUT_TOKENS_FILE": "/etc/checkout.env"}
    ) == Path("/etc/checkout.env")
