"""QR label sheets: the PDF is rendered (pdfium) and its QR codes read back (zxing), as a phone would."""

from __future__ import annotations

from typing import Any

import pypdfium2 as pdfium
import pytest
import zxingcpp

from aerie_app.services import labels
from tests.api.conftest import Api

pytestmark = pytest.mark.api


def _pages(response: Any) -> list[Any]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"].startswith('inline; filename="aerie-labels-')
    return list(pdfium.PdfDocument(response.content))


def _codes(page: Any) -> list[str]:
    """The QR codes on a page, top to bottom, left to right, as a scanner reads them."""
    image = page.render(scale=300 / 72).to_pil()
    found = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
    spots = sorted(found, key=lambda b: (round(b.position.top_left.y / 50), b.position.top_left.x))
    return [b.text for b in spots]


def _text(page: Any) -> str:
    textpage = page.get_textpage()
    return str(textpage.get_text_range())


def test_a_sheet_labels_the_picked_parts_in_order_with_codes_to_their_cards(api: Api) -> None:
    plate = api.create(
        name="Intake side plate Ø12",
        partId="2026-IN-001",
        material="6061 Aluminum",
        materialThickness="0.25 in",
        amount=2,
    )
    hood = api.create(name="Shooter hood", partId="2026-SH-004", subsystem="Shooter", amount=3)
    api.create(name="Not picked")
    response = api.get(
        "/api/parts/labels.pdf",
        params={"ids": f"{hood['id']},{plate['id']}", "sheet": "avery-5160"},
    )
    (page,) = _pages(response)
    width, height = page.get_size()
    assert (round(width), round(height)) == (612, 792)  # US Letter, in points
    base = "http://testserver"
    assert _codes(page) == [f"{base}/p/{hood['id']}", f"{base}/p/{plate['id']}"]
    text = _text(page)
    for expected in (
        "2026-IN-001",
        "Intake side plate Ø12",
        "6061 Aluminum 0.25 in",
        "× 2 · Intake",
    ):
        assert expected in text
    assert "2026-SH-004" in text and "× 3 · Shooter" in text
    assert "Not picked" not in text
    assert f"#{plate['id']}" in text  # the number to type when no camera reads the code


def test_without_ids_the_board_view_is_labelled_and_a_used_sheet_is_skipped(api: Api) -> None:
    for i in range(4):
        api.create(name=f"Intake plate {i}", subsystem="Intake")
    api.create(name="Shooter hood", subsystem="Shooter")
    response = api.get(
        "/api/parts/labels.pdf",
        params={"subsystem": "Intake", "sort_by": "name", "sort_order": "asc", "limit": 1},
    )
    (page,) = _pages(response)
    listed = api.get(
        "/api/parts/", params={"subsystem": "Intake", "sort_by": "name", "sort_order": "asc"}
    ).json()["parts"]
    assert _codes(page) == [f"http://testserver/p/{p['id']}" for p in listed]

    # Eight labels on an A4 sheet of 21 whose first 20 are gone: one on page 1, seven on page 2.
    for i in range(4):
        api.create(name=f"More {i}", subsystem="Intake")
    pages = _pages(
        api.get(
            "/api/parts/labels.pdf",
            params={"subsystem": "Intake", "sheet": "avery-l7160", "start": 20},
        )
    )
    assert len(pages) == 2
    assert len(_codes(pages[0])) == 1 and len(_codes(pages[1])) == 7
    assert (round(pages[0].get_size()[0] / 72 * 25.4)) == 210  # A4


def test_label_printer_sizes_put_one_label_on_each_page(api: Api) -> None:
    a = api.create(name="Gusset")
    b = api.create(name="Spacer")
    pages = _pages(
        api.get(
            "/api/parts/labels.pdf", params={"ids": f"{a['id']},{b['id']}", "sheet": "label-62x29"}
        )
    )
    assert [round(p.get_size()[0] / 72 * 25.4) for p in pages] == [62, 62]
    assert [_codes(p) for p in pages] == [
        [f"http://testserver/p/{a['id']}"],
        [f"http://testserver/p/{b['id']}"],
    ]


def test_codes_point_at_the_configured_public_address(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    from aerie_app.settings import get_settings

    part = api.create(name="Gusset")
    monkeypatch.setenv("AERIE_PUBLIC_URL", "http://192.168.1.20:3000/")
    get_settings.cache_clear()
    (page,) = _pages(api.get("/api/parts/labels.pdf", params={"ids": str(part["id"])}))
    assert _codes(page) == [f"http://192.168.1.20:3000/p/{part['id']}"]


def test_long_text_is_cut_to_its_label_and_odd_characters_survive_without_a_font(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    part = api.create(name="A very long part name " * 8, material="Délrin ✓ 🚀")
    (page,) = _pages(api.get("/api/parts/labels.pdf", params={"ids": str(part["id"])}))
    assert "…" in _text(page)
    assert "A very long part name A very long part name A very long part name A very" not in _text(
        page
    )
    # A machine without a Unicode font still gets its labels (Helvetica; "?" for the rest).
    monkeypatch.setattr(labels, "_font_files", lambda: None)
    (page,) = _pages(api.get("/api/parts/labels.pdf", params={"ids": str(part["id"])}))
    assert "Délrin ? ?" in _text(page)
    assert _codes(page) == [f"http://testserver/p/{part['id']}"]


@pytest.mark.parametrize(
    ("params", "status", "field"),
    [
        ({"ids": "1,abc"}, 400, "ids"),
        ({"ids": "0"}, 400, "ids"),
        ({"ids": "99999999999"}, 400, "ids"),
        ({"sheet": "avery-9999"}, 400, "sheet"),
        ({"start": "30"}, 400, "start"),  # Avery 5160 has slots 0–29
        ({"start": "-1"}, 400, None),
        ({"search": "no such part"}, 400, "ids"),
        ({"ids": "424242"}, 404, None),
    ],
)
def test_bad_label_requests_get_a_clear_error(
    api: Api, params: dict[str, str], status: int, field: str | None
) -> None:
    api.create(name="Gusset")
    response = api.get("/api/parts/labels.pdf", params=params)
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"]
    if field:
        assert field in str(body["details"]), body


def test_too_many_labels_at_once_is_refused(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(labels, "MAX_LABELS", 2)
    for i in range(3):
        api.create(name=f"Plate {i}")
    response = api.get("/api/parts/labels.pdf")
    assert response.status_code == 400
    assert "more than 2" in str(response.json()["details"])


def test_labels_need_a_key(api: Api) -> None:
    response = api.get("/api/parts/labels.pdf", key="")
    assert response.status_code == 401
    assert response.json()["error"]
