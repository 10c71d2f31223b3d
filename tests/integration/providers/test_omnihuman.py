"""OmniHuman on (fake) fal.ai as the worker uses it: submit, collect None while it renders, then a real
720×1280 video; a restarted worker resumes without a second submission; failures reach the user's reason;
inputs reach fal by its storage or by presigned URLs of our bucket; the cost of each render is recorded."""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from app.services.fal.inputs import FalUploads, PresignedInputs
from app.services.providers import ProviderError, TalkingVideoMaker
from app.services.storage.local import LocalStorage
from app.services.storage.s3 import S3Storage
from app.services.video.omnihuman import MODEL_V1, OmniHumanVideo, Resolution
from tests.fakes.fal_server import FakeFal, fal_server
from tests.integration.providers.conftest import streams, tone
from tests.integration.providers.fal_support import all_logs, queue_client


@pytest.fixture
async def fal() -> AsyncIterator[FakeFal]:
    async with fal_server(latency=60) as fake:  # renders finish when a test says fal.complete()
        yield fake


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5) as client:
        yield client


def maker(
    http: httpx.AsyncClient, fal: FakeFal, *, resolution: Resolution = "720p", key: str | None = None
) -> OmniHumanVideo:
    return OmniHumanVideo(queue_client(http, fal, key=key), resolution=resolution)


async def test_a_submitted_render_is_none_until_done_then_a_vertical_video(
    http: httpx.AsyncClient, fal: FakeFal, media: Path, tmp_path: Path
) -> None:
    video_maker: TalkingVideoMaker = maker(http, fal)

    request_id = await video_maker.submit(media / "portrait.jpg", media / "speech5.wav", workdir=tmp_path)
    pending = await video_maker.collect(request_id, workdir=tmp_path)
    await fal.complete()
    video = await video_maker.collect(request_id, workdir=tmp_path)

    assert pending is None
    assert video is not None
    assert (video.width, video.height, video.provider) == (720, 1280, "omnihuman")
    assert video.duration == pytest.approx(5.0, abs=0.1)  # as long as the speech
    assert video.path.parent == tmp_path and video.path.suffix == ".mp4"
    (picture,) = streams(video.path, "video")
    assert (picture["codec_name"], picture["width"], picture["height"]) == ("h264", 720, 1280)
    (submission,) = fal.stats()["submissions"]
    assert submission["input"]["resolution"] == "720p"
    assert fal.stats()["counters"].get("file_calls_with_authorization", 0) == 0  # the key stays off the CDN


async def test_a_restarted_worker_collects_the_same_render_without_submitting_again(
    fal: FakeFal, media: Path, tmp_path: Path
) -> None:
    async with httpx.AsyncClient(timeout=5) as before_crash:
        request_id = await maker(before_crash, fal).submit(
            media / "portrait.jpg", media / "speech5.wav", workdir=tmp_path
        )
    await fal.complete()

    async with httpx.AsyncClient(timeout=5) as after_restart:
        video = await maker(after_restart, fal).collect(request_id, workdir=tmp_path)

    assert video is not None and (video.width, video.height) == (720, 1280)
    assert fal.stats()["total"] == 1
    assert fal.stats()["counters"]["submit_calls"] == 1


async def test_the_fake_counts_a_resubmission_of_the_same_files_as_a_duplicate(
    http: httpx.AsyncClient, fal: FakeFal, media: Path, tmp_path: Path
) -> None:
    video_maker = maker(http, fal)
    for _ in range(2):  # what a worker that lost its stored request id would do: upload again, submit again
        await video_maker.submit(media / "portrait.jpg", media / "speech5.wav", workdir=tmp_path)
    await video_maker.submit(media / "portrait.jpg", tone(tmp_path / "other.wav", 1.0), workdir=tmp_path)

    stats = fal.stats()

    assert (stats["total"], stats["duplicates"]) == (3, 1)
    assert sorted(group["count"] for group in stats["distinct"]) == [1, 2]


@pytest.mark.parametrize(
    ("status", "reason"),
    [(429, "provider_busy"), (503, "provider_unavailable"), (502, "provider_unavailable")],
)
async def test_a_busy_or_failing_fal_is_a_transient_error(
    http: httpx.AsyncClient, fal: FakeFal, media: Path, tmp_path: Path, *, status: int, reason: str
) -> None:
    fal.fail("submit", status, times=3)

    with pytest.raises(ProviderError) as caught:
        await maker(http, fal).submit(media / "portrait.jpg", media / "speech5.wav", workdir=tmp_path)

    assert (caught.value.reason, caught.value.transient) == (reason, True)
    assert fal.stats()["total"] == 0


async def test_a_status_error_while_collecting_is_transient(
    http: httpx.AsyncClient, fal: FakeFal, media: Path, tmp_path: Path
) -> None:
    video_maker = maker(http, fal)
    request_id = await video_maker.submit(media / "portrait.jpg", media / "speech5.wav", workdir=tmp_path)
    fal.fail("status", 503, times=3, error_type="runner_disconnected")

    with pytest.raises(ProviderError) as caught:
        await video_maker.collect(request_id, workdir=tmp_path)

    assert (caught.value.reason, caught.value.transient) == ("provider_unavailable", True)
    assert await video_maker.collect(request_id, workdir=tmp_path) is None  # the next poll goes on


async def test_a_rejected_input_is_permanent_with_fal_s_message(
    http: httpx.AsyncClient, fal: FakeFal, media: Path, tmp_path: Path
) -> None:
    detail = [
        {"loc": ["body", "image_url"], "msg": "Image must contain a visible face", "type": "value_error"}
    ]
    fal.fail("submit", 422, detail=detail)

    with pytest.raises(ProviderError) as caught:
        await maker(http, fal).submit(media / "portrait.jpg", media / "speech5.wav", workdir=tmp_path)

    assert (caught.value.reason, caught.value.transient) == ("provider_rejected", False)
    assert "image_url: Image must contain a visible face" in caught.value.detail


@pytest.mark.parametrize(
    ("error_type", "reason"),
    [("inference_error", "video_failed"), ("content_policy_violation", "content_refused")],
)
async def test_a_render_completed_with_an_error_fails_permanently(
    http: httpx.AsyncClient, fal: FakeFal, media: Path, tmp_path: Path, *, error_type: str, reason: str
) -> None:
    video_maker = maker(http, fal)
    fal.fail_run("Generation failed", error_type=error_type)
    request_id = await video_maker.submit(media / "portrait.jpg", media / "speech5.wav", workdir=tmp_path)
    await fal.complete()

    with pytest.raises(ProviderError) as caught:
        await video_maker.collect(request_id, workdir=tmp_path)

    assert (caught.value.reason, caught.value.transient) == (reason, False)
    assert "Generation failed" in caught.value.detail
    assert not [name for name in os.listdir(tmp_path) if name.endswith(".mp4")]


async def test_a_still_fal_cannot_read_fails_the_render(
    http: httpx.AsyncClient, fal: FakeFal, media: Path, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"this is not a picture")
    video_maker = maker(http, fal)
    request_id = await video_maker.submit(broken, media / "speech5.wav", workdir=tmp_path)
    await fal.complete()

    with pytest.raises(ProviderError) as caught:
        await video_maker.collect(request_id, workdir=tmp_path)

    assert (caught.value.reason, caught.value.transient) == ("video_failed", False)


async def test_a_result_file_gone_from_the_cdn_fails_permanently(
    http: httpx.AsyncClient, fal: FakeFal, media: Path, tmp_path: Path
) -> None:
    video_maker = maker(http, fal)
    request_id = await video_maker.submit(media / "portrait.jpg", media / "speech5.wav", workdir=tmp_path)
    await fal.complete()
    fal.fail("file", 404)

    with pytest.raises(ProviderError) as caught:
        await video_maker.collect(request_id, workdir=tmp_path)

    assert (caught.value.reason, caught.value.transient) == ("video_failed", False)
    assert os.listdir(tmp_path) == []  # no half-written file left behind


async def test_a_wrong_key_is_an_auth_failure_that_never_shows_the_key(
    http: httpx.AsyncClient, fal: FakeFal, media: Path, tmp_path: Path
) -> None:
    wrong_key = "wrong-key-0a1b2c3d4e"
    with all_logs() as logs, pytest.raises(ProviderError) as caught:
        await maker(http, fal, key=wrong_key).submit(
            media / "portrait.jpg", media / "speech5.wav", workdir=tmp_path
        )

    assert (caught.value.reason, caught.value.transient) == ("provider_auth", False)
    assert "HTTP 401" in caught.value.detail
    assert wrong_key not in f"{caught.value} {caught.value.detail}"
    assert wrong_key not in logs.getvalue()


@pytest.mark.parametrize(
    ("resolution", "seconds", "refused"),
    [("720p", 60.0, True), ("1080p", 30.0, True), ("720p", 30.0, False)],
)
async def test_speech_too_long_for_the_resolution_is_refused_before_any_call(
    http: httpx.AsyncClient,
    fal: FakeFal,
    media: Path,
    tmp_path: Path,
    *,
    resolution: Resolution,
    seconds: float,
    refused: bool,
) -> None:
    speech = tone(tmp_path / "speech.wav", seconds)
    video_maker = maker(http, fal, resolution=resolution)

    if refused:
        with pytest.raises(ProviderError) as caught:
            await video_maker.submit(media / "portrait.jpg", speech, workdir=tmp_path)
        assert (caught.value.reason, caught.value.transient) == ("speech_too_long", False)
        assert fal.stats()["counters"] == {}  # not even an upload
    else:
        await video_maker.submit(media / "portrait.jpg", speech, workdir=tmp_path)
        assert fal.stats()["total"] == 1


async def test_an_unreadable_stored_request_fails_the_render(
    http: httpx.AsyncClient, fal: FakeFal, tmp_path: Path
) -> None:
    with pytest.raises(ProviderError) as caught:
        await maker(http, fal).collect("4f096b2a-efa6-4ff7", workdir=tmp_path)

    assert (caught.value.reason, caught.value.transient) == ("video_failed", False)
    assert fal.stats()["counters"] == {}


async def test_only_720p_and_1080p_are_offered(http: httpx.AsyncClient, fal: FakeFal) -> None:
    with pytest.raises(ValueError, match="720p or 1080p"):
        OmniHumanVideo(queue_client(http, fal), resolution="480p")  # type: ignore[arg-type]


async def test_inputs_can_reach_fal_by_presigned_urls_of_our_bucket(
    http: httpx.AsyncClient, fal: FakeFal, bucket: S3Storage, media: Path, tmp_path: Path, *, s3_endpoint: str
) -> None:
    video_maker = OmniHumanVideo(queue_client(http, fal), inputs=PresignedInputs(bucket, expires=600))

    first = await video_maker.submit(media / "portrait.jpg", media / "speech5.wav", workdir=tmp_path)
    await video_maker.submit(media / "portrait.jpg", media / "speech5.wav", workdir=tmp_path)
    await fal.complete()
    video = await video_maker.collect(first, workdir=tmp_path)

    assert video is not None and (video.width, video.height) == (720, 1280)
    assert video.duration == pytest.approx(5.0, abs=0.1)  # fal really read our speech
    submission = fal.stats()["submissions"][0]["input"]
    for name in ("image_url", "audio_url"):
        assert submission[name].startswith(f"{s3_endpoint}/{bucket.bucket}/tmp/fal-inputs/")
        assert "X-Amz-Expires=600" in submission[name]
    assert fal.stats()["counters"].get("upload_calls", 0) == 0
    assert fal.stats()["duplicates"] == 1  # the same files, however freshly signed their URLs
    for name in ("portrait.jpg", "speech5.wav"):  # kept by content: the same file is one object
        digest = hashlib.sha256((media / name).read_bytes()).hexdigest()
        assert await bucket.exists(f"tmp/fal-inputs/{digest}{Path(name).suffix}")


async def test_inputs_go_to_fal_s_storage_when_chosen(
    http: httpx.AsyncClient, fal: FakeFal, media: Path, tmp_path: Path
) -> None:
    client = queue_client(http, fal)
    video_maker = OmniHumanVideo(client, inputs=FalUploads(client))

    await video_maker.submit(media / "portrait.jpg", media / "speech5.wav", workdir=tmp_path)

    assert fal.stats()["counters"]["uploads"] == 2
    assert fal.stats()["submissions"][0]["input"]["image_url"].startswith(f"{fal.url}/files/uploads/")


async def test_a_storage_without_public_urls_is_a_storage_failure(
    http: httpx.AsyncClient, fal: FakeFal, media: Path, tmp_path: Path
) -> None:
    storage = LocalStorage(tmp_path / "objects")
    video_maker = OmniHumanVideo(queue_client(http, fal), inputs=PresignedInputs(storage))

    with pytest.raises(ProviderError) as caught:
        await video_maker.submit(media / "portrait.jpg", media / "speech5.wav", workdir=tmp_path)

    assert caught.value.reason == "storage_failed"
    assert "LocalStorage has no public URLs" in caught.value.detail
    assert fal.stats()["total"] == 0


async def test_a_collected_render_records_what_it_cost(
    http: httpx.AsyncClient, fal: FakeFal, media: Path, tmp_path: Path
) -> None:
    video_maker = maker(http, fal)
    request_id = await video_maker.submit(media / "portrait.jpg", media / "speech5.wav", workdir=tmp_path)
    await fal.complete()

    video = await video_maker.collect(request_id, workdir=tmp_path)

    assert video is not None and video.cost is not None
    cost = video.cost
    assert (cost.provider, cost.model, cost.unit) == ("fal", "fal-ai/bytedance/omnihuman/v1.5", "seconds")
    assert cost.units == pytest.approx(5.0, abs=0.1)
    assert cost.usd == pytest.approx(0.16 * cost.units, abs=0.001)
    assert cost.request_id == fal.stats()["submissions"][0]["request_id"]


@pytest.mark.parametrize(("seconds", "refused"), [(30.0, True), (29.0, False)])
async def test_v1_sends_no_resolution_and_takes_under_30_seconds(
    http: httpx.AsyncClient, fal: FakeFal, media: Path, tmp_path: Path, *, seconds: float, refused: bool
) -> None:
    speech = tone(tmp_path / "speech.wav", seconds)
    video_maker = OmniHumanVideo(queue_client(http, fal), model=MODEL_V1)

    if refused:
        with pytest.raises(ProviderError) as caught:
            await video_maker.submit(media / "portrait.jpg", speech, workdir=tmp_path)
        assert caught.value.reason == "speech_too_long"
        assert "OmniHuman v1" in caught.value.detail
    else:
        await video_maker.submit(media / "portrait.jpg", speech, workdir=tmp_path)
        (submission,) = fal.stats()["submissions"]
        assert submission["model"] == MODEL_V1
        assert "resolution" not in submission["input"]


async def test_a_webhook_address_carries_our_reference(
    http: httpx.AsyncClient, fal: FakeFal, media: Path, tmp_path: Path
) -> None:
    fal.script_webhook(skip=True)  # nobody listens there: only the address is looked at
    hook = "https://bot.example.com/fal/webhook"
    video_maker = OmniHumanVideo(queue_client(http, fal), webhook_url=hook)

    await video_maker.submit(media / "portrait.jpg", media / "speech5.wav", workdir=tmp_path, reference="g42")

    assert fal.stats()["submissions"][0]["webhook"] == f"{hook}?ref=g42"


async def test_only_the_two_omnihuman_models_are_offered(http: httpx.AsyncClient, fal: FakeFal) -> None:
    with pytest.raises(ValueError, match="model"):
        OmniHumanVideo(queue_client(http, fal), model="fal-ai/flux/dev")
