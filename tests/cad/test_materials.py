"""Unit tests of the density table and tolerant material matching."""

from __future__ import annotations

import pytest

from aerie_app.cad.materials import DENSITIES_G_CM3, density_for, estimated_mass_g

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("name", "density"),
    [
        ("Aluminum", 2.70),
        ("aluminium", 2.70),
        ("6061-T6 Aluminum", 2.70),
        ("Al 7075-T651", 2.81),
        ("7075", 2.81),
        ("Polycarb", 1.20),
        ("polycarbonate", 1.20),
        ("Lexan", 1.20),
        ("Acrylic", 1.18),
        ("PMMA", 1.18),
        ("Delrin", 1.41),
        ("acetal", 1.41),
        ("Steel", 7.85),
        ("mild steel", 7.85),
        ("Stainless Steel 304", 8.00),
        ("HDPE", 0.95),
        ("UHMW", 0.93),
        ("UHMW-PE", 0.93),
        ("Nylon 6", 1.14),
        ("ABS", 1.05),
        ("PLA", 1.24),
        ("PETG", 1.27),
        ("TPU 95A", 1.21),
        ("Baltic birch plywood", 0.60),
        ("MDF", 0.75),
        ("Carbon fiber plate", 1.55),
        ("G10 fiberglass", 1.85),
        ("Brass", 8.50),
        ("Copper", 8.96),
        ("Titanium", 4.43),
        ("  ALUMINUM  ", 2.70),
    ],
)
def test_density_for_common_names(name: str, density: float) -> None:
    assert density_for(name) == pytest.approx(density)


@pytest.mark.parametrize("name", ["", "   ", "unobtainium", "cheese"])
def test_unknown_material_is_none(name: str) -> None:
    assert density_for(name) is None
    assert estimated_mass_g(1000.0, name) is None


def test_stainless_is_not_mild_steel() -> None:
    assert density_for("stainless steel") != density_for("steel")


def test_estimated_mass() -> None:
    # 10 cm³ of 6061 is 27 g.
    assert estimated_mass_g(10_000.0, "6061 aluminum") == pytest.approx(27.0)
    assert estimated_mass_g(0.0, "PLA") == 0.0
    assert estimated_mass_g(-1.0, "PLA") is None


def test_table_values_are_plausible() -> None:
    assert all(0.5 <= d <= 9.0 for d in DENSITIES_G_CM3.values())
