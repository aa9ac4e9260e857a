"""Densities of common robotics-shop materials, and the tolerant lookup of a material key that mass
estimates, machine fit and stock matching share."""

from __future__ import annotations

import re
from functools import lru_cache

# g/cm³, typical datasheet values; good to a few percent, which is all a mass estimate needs.
DENSITIES_G_CM3: dict[str, float] = {
    "aluminium 6061": 2.70,
    "aluminium 7075": 2.81,
    "aluminium 5052": 2.68,
    "aluminium": 2.70,
    "polycarbonate": 1.20,
    "acrylic": 1.18,
    "mild steel": 7.85,
    "stainless steel": 8.00,
    "hdpe": 0.95,
    "uhmw": 0.93,
    "acetal": 1.41,
    "nylon": 1.14,
    "abs": 1.05,
    "pla": 1.24,
    "petg": 1.27,
    "tpu": 1.21,
    "plywood": 0.60,
    "wood": 0.70,
    "mdf": 0.75,
    "carbon fibre": 1.55,
    "g10": 1.85,
    "brass": 8.50,
    "copper": 8.96,
    "titanium": 4.43,
}

# Words people type, mapped to a table key; checked in order, so specific entries come first.
_ALIASES: list[tuple[tuple[str, ...], str]] = [
    (("7075",), "aluminium 7075"),
    (("6061",), "aluminium 6061"),
    (("5052",), "aluminium 5052"),
    (("stainless", "ss304", "ss316", "304ss", "316ss", "inox"), "stainless steel"),
    (("304", "316"), "stainless steel"),
    (("carbon", "cf", "cfrp"), "carbon fibre"),
    (("g10", "g-10", "fr4", "fr-4", "fiberglass", "fibreglass", "garolite"), "g10"),
    (("polycarb", "polycarbonate", "lexan", "pc", "makrolon"), "polycarbonate"),
    (("acrylic", "pmma", "plexiglass", "plexiglas", "perspex"), "acrylic"),
    (("uhmw", "uhmwpe", "uhmw-pe"), "uhmw"),
    (("hdpe", "polyethylene", "pe", "starboard"), "hdpe"),
    (("delrin", "acetal", "pom", "polyoxymethylene"), "acetal"),
    (("nylon", "pa", "pa6", "pa12", "polyamide", "onyx"), "nylon"),
    (("petg", "pet-g"), "petg"),
    (("pla", "pla+"), "pla"),
    (("abs",), "abs"),
    (("tpu", "ninjaflex", "tpe"), "tpu"),
    (("mdf",), "mdf"),
    (("plywood", "ply", "baltic"), "plywood"),
    (("wood", "birch", "oak", "pine", "hardwood"), "wood"),
    (("brass",), "brass"),
    (("copper",), "copper"),
    (("titanium", "ti", "ti6al4v"), "titanium"),
    (("steel", "1018", "1045", "4140", "a36", "chromoly", "crmo"), "mild steel"),
    (("aluminium", "aluminum", "alu", "al", "aly"), "aluminium"),
]

_WORD = re.compile(r"[a-z0-9+]+(?:-[a-z0-9]+)?")


def _tokens(text: str) -> set[str]:
    """Lower-case words plus their hyphen-split parts, so "6061-T6" yields 6061-t6, 6061 and t6."""
    found: set[str] = set()
    for word in _WORD.findall(text.lower()):
        found.add(word)
        found.update(part for part in word.split("-") if part)
    return found


@lru_cache(maxsize=4096)
def material_key(material: str) -> str | None:
    """The table key of a free-text material name ("6061-T6 Aluminum" → "aluminium 6061"), or None."""
    if not material or not material.strip():
        return None
    text = material.strip().lower()
    if text in DENSITIES_G_CM3:
        return text
    tokens = _tokens(text)
    for words, key in _ALIASES:
        if any(word in tokens for word in words):
            return key
    # Prefix match catches truncations such as "alumin", "polyc", "stainl".
    for words, key in _ALIASES:
        if any(len(token) >= 4 and word.startswith(token) for token in tokens for word in words):
            return key
    return None


MATERIAL_KEYS = tuple(DENSITIES_G_CM3)


def material_family(key: str) -> str:
    """The general key an alloy belongs to ("aluminium 6061" → "aluminium"); else the key itself."""
    family = key.split(" ", 1)[0]
    return family if family != key and family in DENSITIES_G_CM3 else key


def compatible(offered: str, wanted: str) -> bool:
    """Whether what a machine cuts or stock is (``offered``) serves a part of ``wanted``.

    Equal keys match; a family matches its alloys both ways: a router listed for "aluminium"
    cuts 6061, and a part that only says "Aluminum" can come from 6061 sheet.
    """
    return (
        offered == wanted
        or material_family(wanted) == offered
        or (material_family(offered) == wanted)
    )


def density_for(material: str) -> float | None:
    """Density in g/cm³ for a free-text material name ("6061-T6 Aluminum", "Polycarb"), or None."""
    key = material_key(material)
    return DENSITIES_G_CM3[key] if key is not None else None


def estimated_mass_g(volume_mm3: float, material: str) -> float | None:
    """Mass in grams of ``volume_mm3`` of ``material`` (1 cm³ = 1000 mm³), or None if unknown."""
    density = density_for(material)
    if density is None or volume_mm3 is None or volume_mm3 < 0:
        return None
    return volume_mm3 / 1000.0 * density
