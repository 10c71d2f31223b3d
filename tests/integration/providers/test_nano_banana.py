"""The nano-banana look editor on (fake) fal.ai: a real edited still the size of a vertical video, a green
backdrop when asked, refusals the user is refunded for, and fal's other failures with the right reason."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from PIL import Image

from app.services.fal.inputs import FalUploads, PresignedInputs
from app.services.image.nano_banana import MODEL, MODEL_PRO, NanoBananaEditor
from app.services.providers import EditRefused, ImageEditor, ProviderError
from app.services.storage.s3 import S3Storage
from tests.fakes.fal_server import FakeFal, fal_server
from tests.integration.providers.conftest import portrait
from tests.integration.providers.fal_support import all_logs, queue_client

GREEN = (0, 177, 64)
GREEN_PROMPT = "Replace the background with a solid chroma-key green screen"


@pytest.fixture
async def fal() -> AsyncIterator[FakeFal]:
    async with fal_server() as fake:  # edits complete as soon as they are made
        yield fake


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5) as client:
        yield client


@pytest.fixture
def square(tmp_path: Path) -> Path:
    """A square photo: the editor must still give a 9:16 picture."""
    return portrait(tmp_path / "square.jpg", size=(900, 900))


def editor(
    http: httpx.AsyncClient, fal: FakeFal, *, key: str | None = None, **options: object
) -> NanoBananaEditor:
    client = queue_client(http, fal, key=key)
    options = {"poll_interval": 0.01, **options}
    return NanoBananaEditor(client, FalUploads(client), **options)  # type: ignore[arg-type]


def is_green(pixel: tuple[int, ...]) -> bool:
    return all(abs(a - b) <= 12 for a, b in zip(pixel[:3], GREEN, strict=True))


async def test_an_edit_is_a_vertical_image_with_a_green_backdrop_when_asked(
    http: httpx.AsyncClient, fal: FakeFal, square: Path, tmp_path: Path
) -> None:
    image_editor: ImageEditor = editor(http, fal)

    edited = await image_editor.edit(square, GREEN_PROMPT, workdir=tmp_path)

    assert (edited.provider, edited.note) == ("nano-banana", "")
    assert edited.path.parent == tmp_path and edited.path.suffix == ".png"
    with Image.open(edited.path) as picture:
        assert (picture.format, picture.size) == ("PNG", (720, 1280))
        rgb = picture.convert("RGB")
        corners_and_edges = [(5, 5), (714, 5), (5, 1274), (714, 1274), (5, 640), (714, 640), (360, 5)]
        assert all(is_green(rgb.getpixel(xy)) for xy in corners_and_edges)  # type: ignore[arg-type]
        assert not is_green(rgb.getpixel((360, 800)))  # type: ignore[arg-type]  # the person stays
    (submission,) = fal.stats()["submissions"]
    assert submission["input"] | {"image_urls": None} == {
        "prompt": GREEN_PROMPT,
        "image_urls": None,
        "num_images": 1,
        "output_format": "png",
        "aspect_ratio": "9:16",
    }
    assert edited.cost is not None
    assert (edited.cost.provider, edited.cost.model, edited.cost.units, edited.cost.unit) == (
        "fal",
        MODEL,
        1,
        "images",
    )
    assert edited.cost.usd == pytest.approx(0.039)
    assert edited.cost.request_id == submission["request_id"]


async def test_a_prompt_without_green_keeps_the_backdrop(
    http: httpx.AsyncClient, fal: FakeFal, square: Path, tmp_path: Path
) -> None:
    edited = await editor(http, fal, output_format="jpeg").edit(square, "Make it warmer", workdir=tmp_path)

    with Image.open(edited.path) as picture:
        assert (picture.format, picture.size) == ("JPEG", (720, 1280))
        assert not is_green(picture.convert("RGB").getpixel((5, 5)))  # type: ignore[arg-type]


async def test_the_still_can_reach_fal_by_a_presigned_url_of_our_bucket(
    http: httpx.AsyncClient,
    fal: FakeFal,
    bucket: S3Storage,
    square: Path,
    tmp_path: Path,
    *,
    s3_endpoint: str,
) -> None:
    client = queue_client(http, fal)
    image_editor = NanoBananaEditor(client, PresignedInputs(bucket), model=MODEL_PRO, poll_interval=0.01)

    edited = await image_editor.edit(square, GREEN_PROMPT, workdir=tmp_path)

    (submission,) = fal.stats()["submissions"]
    (url,) = submission["input"]["image_urls"]
    assert url.startswith(f"{s3_endpoint}/{bucket.bucket}/tmp/fal-inputs/") and "X-Amz-Signature=" in url
    assert fal.stats()["counters"].get("upload_calls", 0) == 0  # nothing went to fal's storage
    with Image.open(edited.path) as picture:
        assert picture.size == (720, 1280)
    assert edited.cost is not None and (edited.cost.model, edited.cost.usd) == (MODEL_PRO, 0.15)


async def test_a_text_only_answer_is_a_refusal_with_the_model_s_reason(
    http: httpx.AsyncClient, fal: FakeFal, square: Path, tmp_path: Path
) -> None:
    fal.refuse_edit("I can't edit this image because it shows a minor.")

    with pytest.raises(EditRefused) as caught:
        await editor(http, fal).edit(square, GREEN_PROMPT, workdir=tmp_path)

    assert (caught.value.reason, caught.value.transient) == ("content_refused", False)
    assert "shows a minor" in caught.value.detail
    assert os.listdir(tmp_path) == [square.name]  # nothing half-made left behind


async def test_a_content_policy_rejection_at_submit_is_a_refusal(
    http: httpx.AsyncClient, fal: FakeFal, square: Path, tmp_path: Path
) -> None:
    detail = [
        {
            "loc": ["body", "prompt"],
            "msg": "Prompt flagged by safety filter",
            "type": "content_policy_violation",
        }
    ]
    fal.fail("submit", 422, detail=detail)

    with pytest.raises(EditRefused) as caught:
        await editor(http, fal).edit(square, "something unsafe", workdir=tmp_path)

    assert caught.value.reason == "content_refused"
    assert "Prompt flagged by safety filter" in caught.value.detail


async def test_a_run_completed_with_a_content_policy_error_is_a_refusal(
    http: httpx.AsyncClient, fal: FakeFal, square: Path, tmp_path: Path
) -> None:
    fal.fail_run("Output image flagged", error_type="content_policy_violation")

    with pytest.raises(EditRefused) as caught:
        await editor(http, fal).edit(square, GREEN_PROMPT, workdir=tmp_path)

    assert caught.value.reason == "content_refused"


async def test_an_invalid_input_is_rejected_not_refused(
    http: httpx.AsyncClient, fal: FakeFal, square: Path, tmp_path: Path
) -> None:
    detail = [{"loc": ["body", "image_urls", 0], "msg": "Image is too small", "type": "value_error"}]
    fal.fail("submit", 422, detail=detail)

    with pytest.raises(ProviderError) as caught:
        await editor(http, fal).edit(square, GREEN_PROMPT, workdir=tmp_path)

    assert not isinstance(caught.value, EditRefused)
    assert (caught.value.reason, caught.value.transient) == ("provider_rejected", False)
    assert "image_urls.0: Image is too small" in caught.value.detail


async def test_a_busy_fal_is_retried_and_the_edit_made_once(
    http: httpx.AsyncClient, fal: FakeFal, square: Path, tmp_path: Path
) -> None:
    fal.fail("submit", 429)

    edited = await editor(http, fal).edit(square, GREEN_PROMPT, workdir=tmp_path)

    assert edited.path.exists()
    assert fal.stats()["counters"]["submit_calls"] == 2
    assert fal.stats()["total"] == 1


async def test_an_edit_that_never_finishes_times_out_transiently_and_is_cancelled(
    http: httpx.AsyncClient, square: Path, tmp_path: Path
) -> None:
    naps: list[float] = []

    async def nap(seconds: float) -> None:
        naps.append(seconds)

    async with fal_server(latency=60) as slow:
        with pytest.raises(ProviderError) as caught:
            await editor(http, slow, sleep=nap, poll_interval=1.0, timeout=5.0).edit(
                square, GREEN_PROMPT, workdir=tmp_path
            )
        counters = slow.stats()["counters"]

    assert (caught.value.reason, caught.value.transient) == ("provider_unavailable", True)
    assert naps == [1.0] * 5  # polled every second for the five seconds allowed
    assert counters["cancel_calls"] == 1  # not left running (and billed) on fal


async def test_an_image_gone_from_the_cdn_is_an_edit_failure(
    http: httpx.AsyncClient, fal: FakeFal, square: Path, tmp_path: Path
) -> None:
    fal.fail("file", 404)

    with pytest.raises(ProviderError) as caught:
        await editor(http, fal).edit(square, GREEN_PROMPT, workdir=tmp_path)

    assert (caught.value.reason, caught.value.transient) == ("edit_failed", False)
    assert os.listdir(tmp_path) == [square.name]


async def test_a_wrong_key_is_an_auth_failure_that_never_shows_the_key(
    http: httpx.AsyncClient, fal: FakeFal, square: Path, tmp_path: Path
) -> None:
    wrong_key = "wrong-key-9f8e7d6c5b"
    image_editor = editor(http, fal, key=wrong_key)
    with all_logs() as logs, pytest.raises(ProviderError) as caught:
        await image_editor.edit(square, GREEN_PROMPT, workdir=tmp_path)

    assert caught.value.reason == "provider_auth"
    assert wrong_key not in f"{caught.value} {caught.value.detail} {logs.getvalue()} {image_editor!r}"


@pytest.mark.parametrize(
    ("option", "value"), [("model", "fal-ai/flux/dev"), ("aspect_ratio", "7:3"), ("output_format", "gif")]
)
async def test_settings_fal_would_reject_fail_at_start_up(
    http: httpx.AsyncClient, fal: FakeFal, option: str, value: str
) -> None:
    with pytest.raises(ValueError, match=option):
        editor(http, fal, **{option: value})
