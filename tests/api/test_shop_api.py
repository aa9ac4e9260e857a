"""The geometry-aware shop through the REST API: machines, stock, fit, filters, weight, cut list."""

from __future__ import annotations

import csv
import io
import uuid
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import col, select

from aerie_app.db import session_scope
from aerie_app.models import ConversionStatus, Machine, PartFile, StockItem
from aerie_app.services import conversions
from aerie_app.services.shop import seed
from tests.api.conftest import Api

pytestmark = pytest.mark.api
IN = 25.4


def give_model(
    pid: int,
    dims: tuple[float, float, float],
    *,
    volume: float | None = None,
    area: float | None = None,
    faces: int = 6,
) -> dict[str, Any]:
    """A new current STEP revision whose conversion finishes with these facts (no CAD run): the
    same path as a real conversion from there on (services/conversions.finish)."""
    x, y, z = dims
    facts = {
        "bbox_mm": {"x": x, "y": y, "z": z},
        "bbox_min_mm": [0.0, 0.0, 0.0],
        "bbox_max_mm": [x, y, z],
        "volume_mm3": volume if volume is not None else x * y * z,
        "surface_area_mm2": area if area is not None else 2 * (x * y + y * z + x * z),
        "faces": faces,
    }
    sha = uuid.uuid4().hex * 2
    with session_scope() as session:
        revision = (
            session.exec(
                select(sa.func.max(PartFile.revision)).where(PartFile.part_id == pid)
            ).one()
            or 0
        ) + 1
        session.execute(
            sa.update(PartFile).where(col(PartFile.part_id) == pid).values(is_current=False)
        )
        session.add(
            PartFile(
                part_id=pid,
                revision=revision,
                kind="step",
                display_name=f"model-r{revision}.step",
                size=1,
                sha256=sha,
                is_current=True,
                conversion_status=ConversionStatus.QUEUED.value,
            )
        )
        session.commit()
        conversions.finish(session, sha, facts=facts, error=None, seconds=0.1)
    return facts


def machine(api: Api, **fields: Any) -> dict[str, Any]:
    body = {"name": "Router", "process": "router", "envelopeMm": {"x": "24 in", "y": "48 in"}}
    response = api.post("/api/machines", json=body | fields)
    assert response.status_code == 201, response.text
    return dict(response.json())


def ids(response: Any) -> list[int]:
    assert response.status_code == 200, response.text
    return [p["id"] for p in response.json()["parts"]]


def assert_error(response: Any, status: int, field: str | None = None) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert isinstance(body["error"], str) and body["error"]
    if field is not None:
        assert body["details"]["field"] == field, body


def test_machines_crud_and_scopes(api: Api, make_key) -> None:
    reader, writer = make_key("read"), make_key("write")
    router = machine(api, materials=["6061", "Polycarb"], marginMm="1/4 in")
    assert router["units"] == "in" and router["label"] == "24 × 48 in router"
    assert router["materials"] == ["aluminium 6061", "polycarbonate"]
    assert router["marginMm"] == pytest.approx(6.35)
    assert api.get("/api/machines", key=reader).json()["machines"] == [router]
    assert api.get(f"/api/machines/{router['id']}", key=reader).json() == router
    assert_error(api.post("/api/machines", key=writer, json={"name": "x"}), 403)
    assert_error(
        api.client.patch(
            f"/api/machines/{router['id']}", json={"enabled": False}, headers={"X-API-Key": writer}
        ),
        403,
    )
    patched = api.client.patch(
        f"/api/machines/{router['id']}", json={"enabled": False}, headers={"X-API-Key": api.key}
    )
    assert patched.status_code == 200 and patched.json()["enabled"] is False
    put = api.put(f"/api/machines/{router['id']}", json={"name": "Big router", "enabled": True})
    assert put.json()["name"] == "Big router" and put.json()["enabled"] is True
    assert_error(
        api.post(
            "/api/machines",
            json={"name": "big ROUTER", "process": "laser", "envelopeMm": {"x": 1, "y": 1}},
        ),
        409,
        "name",
    )
    lathe = machine(api, name="Lathe", process="lathe", envelopeMm={"diameter": 150, "length": 400})
    assert lathe["envelopeMm"] == {"diameter": 150, "length": 400} and lathe["units"] == "mm"
    deleted = api.delete(f"/api/machines/{lathe['id']}")
    assert deleted.status_code == 200 and deleted.json()["message"] == "Machine deleted"
    assert_error(api.get(f"/api/machines/{lathe['id']}"), 404)
    assert_error(api.get("/api/machines/abc"), 404)
    assert_error(api.delete("/api/machines/99999"), 404)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"envelopeMm": {"x": -1, "y": 100}}, "envelopeMm.x"),
        ({"envelopeMm": {"x": 0, "y": 100}}, "envelopeMm.x"),
        ({"envelopeMm": {"x": 20_000, "y": 100}}, "envelopeMm.x"),
        ({"envelopeMm": {"x": "2 parsecs", "y": 100}}, "envelopeMm.x"),
        ({"process": "teleporter"}, "process"),
        ({"materials": ["adamantium"]}, "materials[0]"),
        ({"minThicknessMm": 10, "maxThicknessMm": 5}, "minThicknessMm"),
    ],
)
def test_bad_machine_is_422_in_the_error_shape(api: Api, body: dict[str, Any], field: str) -> None:
    base = {"name": "M", "process": "mill", "envelopeMm": {"x": 100, "y": 100, "z": 100}}
    assert_error(api.post("/api/machines", json=base | body), 422, field)
    assert api.get("/api/machines").json()["machines"] == []


def test_stock_crud_and_validation(api: Api, make_key) -> None:
    writer = make_key("write")
    body = {
        "material": "6061",
        "thickness": "1/4 in",
        "sizeMm": {"x": "24 in", "y": "48 in"},
        "count": 2,
    }
    assert_error(api.post("/api/stock", key=writer, json=body), 403)
    created = api.post("/api/stock", json=body)
    assert created.status_code == 201, created.text
    item = created.json()
    assert item["label"] == "1/4 in aluminium 6061 sheet, 24 × 48 in"
    assert item["thicknessLabel"] == "1/4 in" and item["thicknessMm"] == pytest.approx(6.35)
    assert api.get("/api/stock", key=writer).json()["stock"] == [item]
    changed = api.client.patch(
        f"/api/stock/{item['id']}", json={"count": 5}, headers={"X-API-Key": api.key}
    )
    assert changed.json()["count"] == 5
    assert_error(api.put(f"/api/stock/{item['id']}", json={"thickness": "thick"}), 422, "thickness")
    assert_error(api.post("/api/stock", json=body | {"material": "unobtainium"}), 422, "material")
    assert_error(api.post("/api/stock", json=body | {"sizeMm": {"x": 0, "y": 10}}), 422, "sizeMm.x")
    assert_error(api.post("/api/stock", json=["not", "an", "object"]), 400, "body")
    assert api.delete(f"/api/stock/{item['id']}").json()["message"] == "Stock item deleted"
    assert api.get("/api/stock").json()["stock"] == []


def test_fit_follows_machine_changes_and_the_list_cache(api: Api) -> None:
    pid = api.create(material="6061 Aluminum", materialThickness="1/4 in")["id"]
    part = api.get(f"/api/parts/{pid}").json()
    assert part["fit"] == {"status": "no_model", "machines": [], "reason": None}
    give_model(pid, (620.0, 300.0, 6.35))
    part = api.get(f"/api/parts/{pid}").json()
    assert part["fit"]["status"] == "unknown"  # a model, but no machine to judge it against
    small = machine(api, name="Small router", envelopeMm={"x": 500, "y": 500})
    assert api.get("/api/parts/").json()["parts"][0]["fit"] == {
        "status": "none",
        "machines": [],
        "reason": "620 mm > 500 mm Small router bed by 120 mm on Y",
    }
    before = api.get(f"/api/parts/{pid}").json()
    response = api.client.patch(
        f"/api/machines/{small['id']}",
        json={"envelopeMm": {"x": 700, "y": 700}},
        headers={"X-API-Key": api.key},
    )
    assert response.headers["X-Aerie-Parts-Changed"] == "1"
    after = api.get("/api/parts/").json()["parts"][0]
    assert after["fit"] == {
        "status": "fits",
        "machines": [{"id": small["id"], "name": "Small router"}],
        "reason": None,
    }
    # A recompute is not an edit: a pending edit at the old version does not conflict.
    assert after["version"] == before["version"] and after["updatedAt"] != before["updatedAt"]
    assert (
        api.put(f"/api/parts/{pid}", json={"notes": "x", "version": before["version"]}).status_code
        == 200
    )
    assert ids(api.get(f"/api/parts/?fits={small['id']}")) == [pid]
    # Deleting the machine the part referred to judges it again.
    api.delete(f"/api/machines/{small['id']}")
    assert api.get(f"/api/parts/{pid}").json()["fit"]["status"] == "unknown"
    assert ids(api.get(f"/api/parts/?fits={small['id']}")) == []


def test_material_edit_recomputes_fit_and_stock(api: Api) -> None:
    router = machine(api, materials=["aluminium"])
    api.post(
        "/api/stock",
        json={
            "material": "6061",
            "thickness": "1/4 in",
            "sizeMm": {"x": 600, "y": 600},
            "count": 1,
        },
    )
    pid = api.create(material="6061", materialThickness="1/4 in")["id"]
    give_model(pid, (200.0, 100.0, 6.35))
    part = api.get(f"/api/parts/{pid}").json()
    assert part["fit"]["machines"] == [{"id": router["id"], "name": "Router"}]
    assert part["stock"]["label"] == "1/4 in aluminium 6061 sheet, 600 × 600 mm"
    edited = api.put(
        f"/api/parts/{pid}", json={"material": "Polycarbonate", "materialThickness": "3/16"}
    ).json()
    assert edited["fit"] == {
        "status": "none",
        "machines": [],
        "reason": "Router does not cut polycarbonate",
    }
    assert edited["stock"] is None and edited["stockReason"] == "No stock of 3/16 in polycarbonate"
    assert edited["thicknessMm"] == pytest.approx(4.7625) and edited["thicknessLabel"] == "3/16 in"
    assert ids(api.get("/api/parts/?fits=none")) == [pid]


def test_list_filters_and_sorts(api: Api) -> None:
    router = machine(api)
    printer = machine(
        api, name="Printer", process="printer", envelopeMm={"x": 250, "y": 250, "z": 250}
    )
    thin = api.create(name="thin", material="6061")["id"]
    give_model(thin, (300.0, 200.0, 3.175))
    thick = api.create(name="thick", material="6061")["id"]
    give_model(thick, (300.0, 200.0, 12.7))
    block = api.create(name="block", material="PLA")["id"]
    give_model(block, (100.0, 90.0, 80.0))
    huge = api.create(name="huge", material="6061")["id"]
    give_model(huge, (1300.0, 700.0, 6.35))
    bare = api.create(name="bare", material="6061", materialThickness="1/8 in")["id"]
    # "Plates of 6 mm or less that fit the router" is one query.
    assert ids(api.get(f"/api/parts/?fits={router['id']}&maxThickness=6")) == [thin]
    assert sorted(ids(api.get(f"/api/parts/?fits={router['id']}"))) == sorted([thin, thick, block])
    assert ids(api.get(f"/api/parts/?fits={printer['id']}")) == [block]
    assert ids(api.get("/api/parts/?fits=none")) == [huge]
    assert ids(api.get("/api/parts/?fitStatus=no_model")) == [bare]
    assert sorted(ids(api.get("/api/parts/?thickness=1/8 in"))) == sorted([thin, bare])
    assert ids(api.get("/api/parts/?thickness=12.7&minThickness=10")) == [thick]
    assert sorted(ids(api.get("/api/parts/?maxX=300&maxY=200&maxZ=5"))) == [thin]
    assert ids(api.get("/api/parts/?sort_by=thickness&sort_order=asc&fitStatus=fits"))[0] == thin
    order = ids(api.get("/api/parts/?sort_by=fit&sort_order=asc"))
    assert order[-1] == bare and order[-2] == huge
    # The huge plate is estimated at 15.6 kg; the block weighed 50 kg (measured wins).
    api.put(f"/api/parts/{block}", json={"measuredMassG": 50000})
    assert ids(api.get("/api/parts/?sort_by=mass"))[:2] == [block, huge]
    assert ids(api.get("/api/parts/?sort_by=mass&sort_order=asc"))[-1] == bare  # no mass: last
    assert ids(api.get("/api/parts/?minMass=40000")) == [block]
    assert ids(api.get("/api/parts/?min_mass_g=40000&maxMass=45000")) == []
    for bad, field in [
        ("fits=router", "fits"),
        ("fits=0", "fits"),
        ("fitStatus=maybe", "fitStatus"),
        ("maxX=-1", "maxX"),
        ("maxY=nan", "maxY"),
        ("thickness=thick", "thickness"),
        ("minThickness=1/0", "minThickness"),
    ]:
        assert_error(api.get(f"/api/parts/?{bad}"), 400, field)


def test_measured_mass_is_edited_through_the_part(api: Api) -> None:
    pid = api.create()["id"]
    assert (
        api.put(f"/api/parts/{pid}", json={"measuredMassG": "251.5"}).json()["measuredMassG"]
        == 251.5
    )
    for bad in (-1, 0, "heavy", True, 2e6):
        assert_error(
            api.put(f"/api/parts/{pid}", json={"measuredMassG": bad}), 400, "measuredMassG"
        )
    assert (
        api.put(f"/api/parts/{pid}", json={"measured_mass_g": None}).json()["measuredMassG"] is None
    )
    events = api.get(f"/api/parts/{pid}/events").json()["events"]
    assert [e["field"] for e in events if e["kind"] == "edit"][:2] == [
        "measured_mass_g",
        "measured_mass_g",
    ]


def test_weight_budget(api: Api, make_key) -> None:
    reader = make_key("read")
    a = api.create(subsystem="Drive", material="6061", amount=2)["id"]
    give_model(a, (100.0, 100.0, 10.0))  # 100 cm³ of 2.70 g/cm³: 270 g each
    b = api.create(subsystem="Drive", material="6061", amount=3)["id"]
    give_model(b, (100.0, 100.0, 10.0))
    api.put(f"/api/parts/{b}", json={"measuredMassG": 250})  # weighed: wins over the estimate
    api.create(subsystem="Intake", material="Unobtainium")  # no mass yet
    budget = api.get("/api/stats/weight", key=reader).json()
    assert budget["estimatedG"] == pytest.approx(540.0)
    assert budget["measuredG"] == pytest.approx(750.0)
    assert budget["totalG"] == pytest.approx(1290.0)
    assert budget["limitKg"] == 56.7 and budget["limitLb"] == pytest.approx(125.0, abs=0.01)
    assert budget["marginG"] == pytest.approx(56700.0 - 1290.0)
    assert (budget["parts"], budget["partsMeasured"], budget["partsWithoutMass"]) == (3, 1, 1)
    drive = next(s for s in budget["subsystems"] if s["subsystem"] == "Drive")
    assert drive["totalG"] == pytest.approx(1290.0) and drive["partsWithoutMass"] == 0
    assert_error(api.put("/api/settings/shop", key=reader, json={"weightLimitKg": 1}), 403)
    assert_error(api.put("/api/settings/shop", json={"weightLimitKg": -3}), 422, "weightLimitKg")
    settings = api.put("/api/settings/shop", json={"weightLimit": "1 kg"}).json()
    assert settings["weightLimitKg"] == 1.0
    assert api.get("/api/settings/shop", key=reader).json() == settings
    over = api.get("/api/stats/weight").json()
    assert over["overLimit"] is True and over["marginG"] == pytest.approx(-290.0)


def test_cut_list_groups_packs_and_exports(api: Api) -> None:
    router = machine(api, marginMm=5)
    api.post(
        "/api/stock",
        json={
            "material": "6061",
            "thickness": "1/4 in",
            "sizeMm": {"x": 100, "y": 100},
            "count": 1,
        },
    )
    queued = api.create(name="Square", material="6061", materialThickness="1/4 in", amount=12)["id"]
    give_model(queued, (45.0, 45.0, 6.35))
    poly = api.create(name="Window", material="Lexan", amount=2)["id"]
    give_model(poly, (200.0, 100.0, 3.175))
    review = api.create(name="Not approved", material="6061", materialThickness="1/4 in")["id"]
    give_model(review, (45.0, 45.0, 6.35))
    misc = api.create(name="Bearing", material="6061", type="misc")["id"]
    for pid in (queued, poly, misc):
        assert api.post(f"/api/parts/{pid}/approve", json={}).status_code == 200
    api.post(f"/api/parts/{queued}/assign", json={"assigned": "Ada"})
    api.post(f"/api/parts/{queued}/complete", json={"quantity": 2})  # 10 of 12 left to cut
    cut = api.get("/api/cutlist").json()
    assert (cut["parts"], cut["pieces"], cut["queue"]) == (2, 12, ["cnc", "hand"])
    alu = next(g for g in cut["groups"] if g["material"] == "aluminium 6061")
    assert alu["thicknessLabel"] == "1/4 in" and alu["count"] == 10
    assert alu["marginMm"] == 5.0 and alu["stock"]["sizeMm"] == [100.0, 100.0]
    # 45 mm squares + 5 mm margin = 50 mm: four to a 100 mm sheet, ten pieces need three.
    assert alu["sheetsNeeded"] == 3 and alu["shortBy"] == 2 and alu["piecesTooLarge"] == 0
    assert alu["areaMm2"] == pytest.approx(10 * 45 * 45)
    assert alu["parts"] == [
        {
            "id": queued,
            "partId": alu["parts"][0]["partId"],
            "name": "Square",
            "count": 10,
            "footprintMm": [45.0, 45.0],
            "areaMm2": 20250.0,
        }
    ]
    poly_group = next(g for g in cut["groups"] if g["material"] == "polycarbonate")
    assert poly_group["stock"] is None and poly_group["sheetsNeeded"] is None
    csv_response = api.get("/api/cutlist.csv")
    assert csv_response.status_code == 200
    assert csv_response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(csv_response.text)))
    assert {r["name"] for r in rows} == {"Square", "Window"}
    square = next(r for r in rows if r["name"] == "Square")
    assert (square["count"], square["thickness"], square["group_sheets_needed"]) == (
        "10",
        "1/4 in",
        "3",
    )
    assert router["id"]


def test_approving_a_part_that_fits_no_machine_needs_confirmation(api: Api) -> None:
    machine(api, name="Laser", process="laser", envelopeMm={"x": 100, "y": 100})
    pid = api.create(material="plywood")["id"]
    give_model(pid, (130.0, 80.0, 3.0))
    refused = api.post(f"/api/parts/{pid}/approve", json={"reviewer": "Grace"})
    assert_error(refused, 409)
    details = refused.json()["details"]
    assert details["reason"] == "130 mm > 100 mm Laser bed by 30 mm on Y"
    assert details["confirm"] == "confirmNoFit" and "confirmNoFit" in refused.json()["error"]
    assert api.get(f"/api/parts/{pid}").json()["category"] == "review"
    assert_error(
        api.post(f"/api/parts/{pid}/approve", json={"confirmNoFit": "yes"}), 400, "confirmNoFit"
    )
    done = api.post(f"/api/parts/{pid}/approve", json={"reviewer": "Grace", "confirmNoFit": True})
    assert done.status_code == 200 and done.json()["category"] == "cnc"
    notes = [e["note"] for e in api.get(f"/api/parts/{pid}/events").json()["events"]]
    assert (
        "Reviewed by Grace; Approved although it fits no machine: 130 mm > 100 mm Laser bed by 30 mm on Y"
        in notes
    )
    # Parts without a model, and bought parts, approve as before.
    bare = api.create()["id"]
    assert api.post(f"/api/parts/{bare}/approve").status_code == 200
    bought = api.create(type="misc", material="plywood")["id"]
    give_model(bought, (130.0, 80.0, 3.0))
    assert api.post(f"/api/parts/{bought}/approve").status_code == 200


def test_seeded_once_and_never_again(api: Api) -> None:
    with session_scope() as session:
        assert seed.seed_shop(session) is True
    names = [m["name"] for m in api.get("/api/machines").json()["machines"]]
    assert names == ["Router", "Laser", "3D printer"]
    stock = api.get("/api/stock").json()["stock"]
    assert {s["label"] for s in stock} >= {
        "1/16 in aluminium 6061 sheet, 24 × 48 in",
        "3/16 in aluminium 6061 sheet, 24 × 48 in",
        "1/8 in polycarbonate sheet, 24 × 48 in",
        "1/2 in hdpe sheet, 24 × 48 in",
    }
    assert len(stock) == 8
    for m in api.get("/api/machines").json()["machines"]:
        api.delete(f"/api/machines/{m['id']}")
    for s in stock:
        api.delete(f"/api/stock/{s['id']}")
    with session_scope() as session:
        assert seed.seed_shop(session) is False
        seed.prepare_shop(session)
        assert session.exec(select(sa.func.count()).select_from(Machine)).one() == 0
        assert session.exec(select(sa.func.count()).select_from(StockItem)).one() == 0


def test_a_shop_set_up_by_hand_is_not_seeded_over(api: Api) -> None:
    machine(api, name="Our router")
    with session_scope() as session:
        assert seed.seed_shop(session) is False
    assert [m["name"] for m in api.get("/api/machines").json()["machines"]] == ["Our router"]


def test_seeded_shop_fits_a_plate_on_the_router(api: Api) -> None:
    with session_scope() as session:
        seed.prepare_shop(session)
    pid = api.create(material="6061-T6", materialThickness='1/4"')["id"]
    give_model(pid, (400.0, 300.0, 6.35))
    part = api.get(f"/api/parts/{pid}").json()
    assert [m["name"] for m in part["fit"]["machines"]] == ["Router"]
    assert part["stock"]["label"] == "1/4 in aluminium 6061 sheet, 24 × 48 in"


def test_machine_names_are_unique_in_any_letter_case(api: Api) -> None:
    # SQLite's lower() leaves non-ASCII letters alone: the clash is found in Python.
    machine(api, name="Fräse ÉCLAIR")
    assert_error(
        api.post("/api/machines", json={"name": "fräse éclair", "process": "hand"}), 409, "name"
    )
    assert_error(
        api.post("/api/machines", json={"name": "Fräse ÉCLAIR", "process": "hand"}), 409, "name"
    )
