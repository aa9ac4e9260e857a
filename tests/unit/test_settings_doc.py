"""The README's configuration table cannot drift from the Settings class."""

from __future__ import annotations

import re

import pytest

from aerie_app.settings import Settings, settings_table
from tests.conftest import ROOT

pytestmark = pytest.mark.unit


def test_readme_table_matches_settings() -> None:
    readme = (ROOT / "README.md").read_text()
    match = re.search(
        r"<!-- settings-table:start -->\n(.*?)\n<!-- settings-table:end -->", readme, re.S
    )
    assert match, "README lost its settings-table markers"
    assert match.group(1) == settings_table(), (
        "README's configuration table is stale: paste the output of "
        "`python -c 'from aerie_app.settings import settings_table; print(settings_table())'`"
    )


def test_every_setting_is_described() -> None:
    for name, field in Settings.model_fields.items():
        assert field.description, f"setting {name} has no description"
