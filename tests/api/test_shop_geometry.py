"""Changed and duplicate geometry when a revision's facts arrive; the shop in backups; and one
journey on real conversions (a plate too large for a machine, then the machine enlarged)."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest

from aerie_app.db import session_scope
from aerie_app.services import conversions
from aerie_app.services.model_facts import geometry_differs, same_geometry
from aerie_app.services.shop import seed
from tests.api.conftest import Api
from tests.api.test_backup import make_backup, restore, second_url, switch_to, table_rows
from tests.api.test_shop_api import give_model, machine

pytestmark = pytest.mark.api
__all__ = ["second_url"]  # the fixture, used below
SHOP_TABLES = ("machine", "stock_item", "shop_setting", "part_fit")


def approved(api: Api, **fields: Any) -> int:
    pid = api.create(**fields)["id"]
    assert api.post(f"/api/parts/{pid}/approve", json={}).status_code == 200
    return int(pid)


def events(api: Api, pid: int) -> list[dict[str, Any]]:
    return list(api.get(f"/api/parts/{pid}/events").json()["events"])


def current_file(api: Api, pid: int) -> dict[str, Any]:
    return next(f for f in api.get(f"/api/parts/{pid}/files").json()["files"] if f["current"])


@pytest.mark.unit
def test_geometry_tolerances() -> None:
    box = {
        "bbox_mm": {"x": 100, "y": 50, "z": 6},
        "volume_mm3": 30000,
        "surface_area_mm2": 11200,
        "faces": 6,
    }
    turned = box | {"bbox_mm": {"x": 6, "y": 100, "z": 50}}
    assert not geometry_differs(box, turned)  # a re-export turned in the model is the same part
    assert not geometry_differs(box, box | {"volume_mm3": 30140})  # 0.47 %
    assert geometry_differs(box, box | {"volume_mm3": 30160})  # 0.53 %
    assert geometry_differs(box, box | {"bbox_mm": {"x": 101, "y": 50, "z": 6}})
    assert same_geometry(box, turned)
    assert not same_geometry(box, box | {"faces": 7})
    assert not same_geometry(box, box | {"surface_area_mm2": 11300})


def test_changed_geometry_sends_an_approved_part_back_to_review(api: Api) -> None:
    pid = approved(api, material="6061", materialThickness="1/4 in", amount=4)
    give_model(pid, (120.0, 80.0, 6.35))
    api.post(f"/api/parts/{pid}/assign", json={"assigned": "Ada"})
    api.post(f"/api/parts/{pid}/complete", json={"quantity": 1})
    give_model(pid, (130.0, 80.0, 6.35))
    part = api.get(f"/api/parts/{pid}").json()
    assert (part["category"], part["status"], part["assigned"], part["quantityDone"]) == (
        "review",
        "Pending",
        None,
        0,
    )
    change = current_file(api, pid)["geometryChange"]
    assert change["changed"] is True and change["movedToReview"] is True
    assert change["previousRevision"] == 1
    assert change["old"]["stockMm"] == [120.0, 80.0, 6.35]
    assert change["new"]["stockMm"] == [130.0, 80.0, 6.35]
    assert change["new"]["massG"] > change["old"]["massG"]
    assert api.get(f"/api/parts/{pid}/conversion").json()["geometryChange"] == change
    moved = next(e for e in events(api, pid) if e["kind"] == "reopen_review")
    assert moved["actor"] == "Aerie"
    assert moved["note"] == (
        "Geometry changed (revision 1 → 2): stock 120 × 80 × 6.35 → 130 × 80 × 6.35 mm, "
        "volume 61 cm³ → 66 cm³, mass 164.6 g → 178.3 g; back to Review"
    )


def test_re_export_with_unchanged_geometry_stays_where_it_is(api: Api) -> None:
    pid = approved(api, material="6061")
    give_model(pid, (120.0, 80.0, 6.0), volume=57600.0)
    api.post(f"/api/parts/{pid}/assign", json={"assigned": "Ada"})
    # Exported again, turned and with a rounding difference in the volume: the same part.
    give_model(pid, (80.0, 6.0, 120.0), volume=57610.0)
    part = api.get(f"/api/parts/{pid}").json()
    assert (part["category"], part["status"], part["assigned"]) == ("cnc", "In Progress", "Ada")
    change = current_file(api, pid)["geometryChange"]
    assert change["changed"] is False and change["movedToReview"] is False
    assert not [e for e in events(api, pid) if e["kind"] in ("reopen_review", "geometry")]


def test_changed_geometry_of_a_part_in_review_is_noted_only(api: Api) -> None:
    pid = api.create(material="6061")["id"]
    give_model(pid, (120.0, 80.0, 6.0))
    give_model(pid, (120.0, 80.0, 9.0))
    assert api.get(f"/api/parts/{pid}").json()["category"] == "review"
    change = current_file(api, pid)["geometryChange"]
    assert change["changed"] is True and change["movedToReview"] is False
    assert [e["kind"] for e in events(api, pid)].count("geometry") == 1


def test_first_model_reports_no_change(api: Api) -> None:
    pid = approved(api)
    give_model(pid, (120.0, 80.0, 6.0))
    assert current_file(api, pid)["geometryChange"] is None
    assert api.get(f"/api/parts/{pid}").json()["category"] == "cnc"


def test_duplicate_geometry_is_flagged_never_blocked(api: Api) -> None:
    first = api.create(name="Side plate L", partId="IN-001")["id"]
    give_model(first, (120.0, 80.0, 6.0), faces=18)
    second = api.create(name="Side plate R", partId="IN-002")["id"]
    give_model(second, (80.0, 120.0, 6.0), faces=18)
    third = api.create(name="Other", partId="IN-003")["id"]
    give_model(third, (120.0, 80.0, 6.0), faces=22)  # same box and volume, other features
    part = api.get(f"/api/parts/{second}").json()
    assert part["duplicateOf"] == {"id": first, "partId": "IN-001", "name": "Side plate L"}
    assert api.get(f"/api/parts/{third}").json()["duplicateOf"] is None
    assert api.get(f"/api/parts/{first}").json()["duplicateOf"] is None
    note = next(e["note"] for e in events(api, second) if e["kind"] == "duplicate")
    assert note == f"Looks like IN-001 (Side plate L), part #{first}"
    # The other part's id and name stay current; deleting it clears the flag.
    api.put(f"/api/parts/{first}", json={"partId": "IN-101"})
    assert api.get(f"/api/parts/{second}").json()["duplicateOf"]["partId"] == "IN-101"
    assert api.delete(f"/api/parts/{first}").status_code == 200
    assert api.get(f"/api/parts/{second}").json()["duplicateOf"] is None
    # A new revision that no longer matches anything clears it too.
    fourth = api.create(name="Copy")["id"]
    give_model(fourth, (120.0, 80.0, 6.0), faces=22)
    assert api.get(f"/api/parts/{fourth}").json()["duplicateOf"]["id"] == third
    give_model(fourth, (150.0, 80.0, 6.0), faces=22)
    assert api.get(f"/api/parts/{fourth}").json()["duplicateOf"] is None


def test_backup_keeps_the_shop(
    api: Api,
    aerie_env: Path,
    database_url: str,
    second_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with session_scope() as session:
        seed.prepare_shop(session)
    pid = api.create(material="6061", materialThickness="1/4 in")["id"]
    give_model(pid, (400.0, 300.0, 6.35))
    api.put("/api/settings/shop", json={"weightLimitLb": 120})
    info = make_backup(tmp_path / "shop.tar.gz")
    assert {t: info.rows[t] for t in SHOP_TABLES} == {
        "machine": 3,
        "stock_item": 8,
        "shop_setting": 3,
        "part_fit": 1,
    }
    rows = table_rows(database_url)
    switch_to(monkeypatch, second_url, tmp_path / "second")
    restore(info.path)
    assert {t: table_rows(second_url)[t] for t in SHOP_TABLES} == {t: rows[t] for t in SHOP_TABLES}
    with session_scope() as session:
        assert seed.seed_shop(session) is False  # restored: seeded already


@pytest.mark.cad
def twin_of(api: Api) -> int:
    """Another part: a revision is only served under the part it belongs to."""
    return int(api.create(name="Other", material="6061")["id"])


def test_plate_too_large_for_a_machine_then_the_machine_enlarged(api: Api, steps: Path) -> None:
    """Real conversions: fit none with the reason, fits after the machine is edited; a re-export
    stays put, other geometry goes back to Review, and a second part with the plate is a duplicate."""
    laser = machine(api, name="Small laser", process="laser", envelopeMm={"x": 100, "y": 100})
    plate = (steps / "plate_with_holes.step").read_bytes()  # 120 × 80 × 6 mm
    pid = api.create(name="Plate", partId="P-0001", material="6061", type="cnc")["id"]

    def upload(part: int, name: str, data: bytes) -> dict[str, Any]:
        response = api.post(f"/api/parts/{part}/upload", files={"file": (name, io.BytesIO(data))})
        assert response.status_code == 201, response.text
        assert conversions.queue.wait_idle(180)
        return dict(api.get(f"/api/parts/{part}").json())

    part = upload(pid, "plate.step", plate)
    assert part["thicknessMm"] == pytest.approx(6.0, abs=0.01)
    assert part["fit"] == {
        "status": "none",
        "machines": [],
        "reason": "120 mm > 100 mm Small laser bed by 20 mm on Y",
    }
    assert [p["id"] for p in api.get("/api/parts/?fits=none").json()["parts"]] == [pid]
    response = api.put(f"/api/machines/{laser['id']}", json={"envelopeMm": {"x": 150, "y": 100}})
    assert response.status_code == 200
    part = api.get(f"/api/parts/{pid}").json()
    assert part["fit"]["status"] == "fits" and part["fit"]["machines"][0]["name"] == "Small laser"
    assert api.post(f"/api/parts/{pid}/approve", json={}).json()["category"] == "cnc"

    # The same plate exported again (other bytes, same geometry) keeps its place.
    again = re.sub(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", b"2031-01-01T00:00:00", plate, count=1)
    again = again.replace(b"FILE_DESCRIPTION(", b"FILE_DESCRIPTION( ", 1)
    assert again != plate
    part = upload(pid, "plate-v2.step", again)
    assert part["category"] == "cnc"
    assert current_file(api, pid)["geometryChange"]["changed"] is False

    # A bracket instead: back to Review, and the API says so.
    part = upload(pid, "plate-v3.step", (steps / "bent_bracket.step").read_bytes())
    assert (part["category"], part["status"]) == ("review", "Pending")
    change = current_file(api, pid)["geometryChange"]
    assert change["changed"] is True and change["movedToReview"] is True
    # The previous revision's model stays available, for the viewer's ghost of the old geometry.
    revisions = api.get(f"/api/parts/{pid}/files").json()["files"]
    previous = next(r for r in revisions if r["revision"] == change["previousRevision"])
    old_glb = api.get(f"/api/parts/{pid}/files/{previous['id']}/model")
    assert old_glb.status_code == 200, old_glb.text
    assert old_glb.headers["content-type"] == "model/gltf-binary"
    assert old_glb.content[:4] == b"glTF"
    assert old_glb.content != api.get(f"/api/parts/{pid}/model").content
    assert api.get(f"/api/parts/{pid}/files/999999/model").status_code == 404
    assert api.get(f"/api/parts/{twin_of(api)}/files/{previous['id']}/model").status_code == 404

    # Another part with the plate looks like the first one's... which now is a bracket; so a
    # third part is compared with the second.
    twin = api.create(name="Twin", partId="P-0002", material="6061")["id"]
    upload(twin, "plate.step", plate)
    copy = api.create(name="Copy", material="6061")["id"]
    part = upload(copy, "copy.step", again)
    assert part["duplicateOf"] == {"id": twin, "partId": "P-0002", "name": "Twin"}
