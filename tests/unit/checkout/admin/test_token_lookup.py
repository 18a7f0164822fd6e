"""Where the CLI finds the admin token run_services.py keeps, from whichever folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from checkout.admin.token_lookup import (
    NoAdminToken,
    find_admin_token,
    installed_project_root,
    token_file_candidates,
)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project folder as a clone has it: run_services.py at its root."""
    root = tmp_path / "project"
    (root / "src" / "checkout").mkdir(parents=True)
    (root / "run_services.py").write_text("")
    return root


def keep(path: Path, text: str = "SERVICE_TOKEN=s\nADMIN_TOKEN=kept\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def found_from(cwd: Path, environ: dict[str, str], root: Path | None = None) -> Path:
    candidates = token_file_candidates(cwd=cwd, environ=environ, project_root=root)
    return find_admin_token(candidates).path


def test_a_subfolder_of_the_project_finds_the_root_data_folder(project: Path) -> None:
    kept = keep(project / "data" / "tokens.env")

    assert found_from(project / "src" / "checkout", {}) == kept.resolve()


def test_the_data_folder_itself_finds_its_file(project: Path) -> None:
    kept = keep(project / "data" / "tokens.env")

    assert found_from(project / "data", {}) == kept.resolve()


def test_outside_the_project_the_installed_projects_data_folder_is_found(
    project: Path, tmp_path: Path
) -> None:
    kept = keep(project / "data" / "tokens.env")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    assert found_from(elsewhere, {}, root=project) == kept.resolve()


def test_outside_any_project_the_parents_are_not_searched(tmp_path: Path) -> None:
    keep(tmp_path / "data" / "tokens.env")
    below = tmp_path / "unrelated" / "folder"
    below.mkdir(parents=True)

    with pytest.raises(NoAdminToken):
        found_from(below, {})


def test_the_tokens_file_variable_is_the_only_place_looked(project: Path) -> None:
    keep(project / "data" / "tokens.env")
    named = keep(project / "elsewhere.env", "ADMIN_TOKEN=named\n")

    candidates = token_file_candidates(
        cwd=project, environ={"CHECKOUT_TOKENS_FILE": "elsewhere.env"}, project_root=None
    )

    assert candidates == [named.resolve()]
    assert find_admin_token(candidates).token == "named"


def test_a_relative_data_dir_is_looked_for_here_and_in_the_project(
    project: Path, tmp_path: Path
) -> None:
    kept = keep(project / "state" / "tokens.env")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    candidates = token_file_candidates(
        cwd=elsewhere, environ={"CHECKOUT_DATA_DIR": "state"}, project_root=project
    )

    assert candidates == [(elsewhere / "state" / "tokens.env").resolve(), kept.resolve()]


def test_a_file_without_the_admin_token_is_passed_over(project: Path) -> None:
    keep(project / "tokens.env", "SERVICE_TOKEN=s\n")
    kept = keep(project / "data" / "tokens.env")

    assert found_from(project, {}) == kept.resolve()


def test_when_none_is_found_the_error_lists_every_place_and_what_to_do(project: Path) -> None:
    keep(project / "tokens.env", "SERVICE_TOKEN=s\n")
    cwd = project / "src"
    candidates = token_file_candidates(cwd=cwd, environ={}, project_root=project)

    with pytest.raises(NoAdminToken) as missing:
        find_admin_token(candidates)

    message = str(missing.value)
    assert f"{(cwd / 'data' / 'tokens.env').resolve()} (no such file)" in message
    assert f"{(project / 'data' / 'tokens.env').resolve()} (no such file)" in message
    assert "--token" in message and "ADMIN_TOKEN" in message
    assert "CHECKOUT_TOKENS_FILE" in message
    assert "python run_services.py" in message


def test_this_editable_install_knows_its_project_root() -> None:
    root = installed_project_root()

    assert root is not None
    assert (root / "run_services.py").is_file()
