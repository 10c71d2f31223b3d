"""A fake fal.ai on loopback: the queue, the storage token and upload, a CDN serving real MP4s and images,
and signed completion webhooks.

It speaks the HTTP of docs/external-apis.md §1–2 for the OmniHuman and nano-banana edit models: submissions
take a configurable time (fixed or a random range, counted from submit); OmniHuman results are real 720×1280
(or 1080×1920) H.264/AAC videos ffmpeg makes from the still and speech; nano-banana results are real edits
of the first ``image_urls`` entry (cover-cropped to ``aspect_ratio``; a green/chroma prompt paints a
#00B140 backdrop near the borders). Inputs are fetched over HTTP from any URL — its own CDN, or a presigned
URL of our storage. A script of failures makes the next calls answer 429, 503, 422, hang, complete with an
``error``, or (nano-banana) answer with text only. Every accepted submission is logged with a fingerprint
of its input — uploaded files by content, so a re-upload of the same still and speech still counts as a
duplicate.

A submission with ``?fal_webhook=<url>`` gets the documented webhook body POSTed there once it completes,
signed with an Ed25519 key made at start (JWKS at ``/.well-known/jwks.json``) the way
app/services/fal/webhook.py verifies it; non-2xx answers are retried a few times. The webhook script can
deliver twice, sign with a wrong key, skip the webhook (polling must then do) or delay it.

In a test::

    async with fal_server(latency="0.2") as fal:
        client = FalQueueClient(http, fal.key, queue_url=fal.url, rest_url=fal.url, upload_url=fal.url)

As its own process (a crash test kills workers, then asks the fake what it saw)::

    python -m tests.fakes.fal_server --port 8790 --latency 10-60 --state-file /tmp/fal.json

Control: ``GET /_fake/stats``; ``POST /_fake/script`` with ``{"faults": [{"on": "submit", "status": 429,
"times": 2}, {"on": "status", "hang": 30}, {"on": "run", "error": "…", "error_type": "…"}],
"latency": "1-2"}``; ``POST /_fake/complete`` (``{"request_id": …}`` or all); ``POST /_fake/reset``.
More fault forms: ``{"on": "run", "refuse": "<description>"}`` (nano-banana answers with no image),
``{"on": "webhook", "copies": 2}`` / ``"bad_signature": true`` / ``"skip": true`` / ``"delay": 0.5``,
``{"on": "jwks", "status": 503}``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import json
import os
import random
import re
import secrets
import shutil
import signal
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from pathlib import Path
from typing import Any, Literal

from aiohttp import ClientError, ClientSession, ClientTimeout, web
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from PIL import Image, ImageDraw, ImageOps
from yarl import URL

from app.services.media_probe import (
    MediaProblem,
    MediaToolError,
    file_url,
    probe,
    probe_duration,
    run_media_tool,
)

DEFAULT_KEY = "fake-fal-key-5b1e0c9d"
OMNIHUMAN_PREFIX = "fal-ai/bytedance/omnihuman"
NANO_BANANA_MODELS = frozenset({"fal-ai/nano-banana/edit", "fal-ai/nano-banana-pro/edit"})
OUTPUT_FORMATS = {"jpeg": ("image/jpeg", "jpg"), "png": ("image/png", "png"), "webp": ("image/webp", "webp")}
ASPECT_RATIOS = frozenset({"auto", "21:9", "16:9", "3:2", "4:3", "5:4", "1:1", "4:5", "3:4", "2:3", "9:16"})
LONG_SIDE = 1280  # an edit's long side: 9:16 is 720×1280
CHROMA_GREEN = (0, 177, 64)  # #00B140
GREEN_PROMPT = re.compile(r"green|chroma|зел[её]н|хромак", re.IGNORECASE)
WEBHOOK_USER_ID = "fake-fal-user"
WEBHOOK_TRIES = 3
WEBHOOK_BACKOFF = 0.05
SIZES = {"720p": (720, 1280), "1080p": (1080, 1920)}
QUEUE_SHARE = 0.25  # the first quarter of a request's time it waits IN_QUEUE, the rest IN_PROGRESS
TOKEN_TTL = 3600.0
DEFAULT_HANG = 30.0
STATIC_SECONDS = 2.0
RENDER_TIME_LIMIT = 120.0
FaultPoint = Literal[
    "submit", "status", "result", "cancel", "token", "upload", "file", "run", "jwks", "webhook"
]
FAULT_POINTS = frozenset(
    {"submit", "status", "result", "cancel", "token", "upload", "file", "run", "jwks", "webhook"}
)
VideoMode = Literal["render", "static"]


@dataclass(frozen=True, slots=True)
class Latency:
    """How long a request takes from submit to COMPLETED: ``low`` seconds, or a random time up to ``high``."""

    low: float
    high: float

    @classmethod
    def parse(cls, text: str | float) -> Latency:
        """``"5"`` or ``"10-60"`` (seconds)."""
        low, _, high = str(text).partition("-")
        latency = cls(float(low), float(high or low))
        if latency.low < 0 or latency.high < latency.low:
            raise ValueError(f"latency must be N or LOW-HIGH seconds with 0 <= LOW <= HIGH, not {text!r}")
        return latency

    def draw(self, rng: random.Random) -> float:
        return self.low if self.high == self.low else rng.uniform(self.low, self.high)

    def __str__(self) -> str:
        return f"{self.low:g}" if self.high == self.low else f"{self.low:g}-{self.high:g}"


@dataclass(slots=True)
class Fault:
    """What the next ``times`` calls at ``on`` do instead of their normal answer."""

    on: FaultPoint
    times: int = 1
    status: int | None = None  # answer with this HTTP status (body from detail / error_type)
    detail: Any = None
    error_type: str | None = None
    hang: float | None = None  # hold the call this many seconds first (to make clients time out)
    error: str | None = None  # on "run": the request COMPLETES with this error
    refuse: str | None = None  # on "run" (nano-banana): no image, this description instead
    copies: int = 1  # on "webhook": how many times the completion is delivered
    bad_signature: bool = False  # on "webhook": signed with a key that is not in the JWKS
    skip: bool = False  # on "webhook": no webhook at all, the client must poll
    delay: float = 0.0  # on "webhook": seconds between completion and delivery

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Fault:
        on = data.get("on")
        if on not in FAULT_POINTS:
            raise ValueError(f"fault 'on' must be one of {sorted(FAULT_POINTS)}, not {on!r}")
        fault = cls(
            on=on,
            times=int(data.get("times", 1)),
            status=int(data["status"]) if data.get("status") is not None else None,
            detail=data.get("detail"),
            error_type=data.get("error_type"),
            hang=float(data["hang"]) if data.get("hang") is not None else None,
            error=data.get("error"),
            refuse=data.get("refuse"),
            copies=int(data.get("copies", 1)),
            bad_signature=bool(data.get("bad_signature", False)),
            skip=bool(data.get("skip", False)),
            delay=float(data.get("delay", 0.0)),
        )
        if on == "run" and not (fault.error or fault.error_type or fault.refuse):
            raise ValueError("a 'run' fault needs an error or a refusal")
        if on == "webhook":
            if fault.copies < 1 or fault.delay < 0:
                raise ValueError("a 'webhook' fault needs copies >= 1 and delay >= 0")
        elif on != "run" and fault.status is None and fault.hang is None:
            raise ValueError(f"a {on!r} fault needs a status or a hang")
        return fault


@dataclass(slots=True)
class Run:
    """One accepted submission and what became of it."""

    request_id: str
    model: str
    input: dict[str, Any]
    fingerprint: str
    submitted_at: float
    done_at: float
    error: str | None = None
    error_type: str | None = None
    output: dict[str, Any] | None = None
    refusal: str | None = None  # nano-banana answers with this description and no image
    webhook: str | None = None  # the fal_webhook URL of the submission
    webhook_state: str = "none"  # none | pending | delivered | failed | skipped
    webhook_copies: int = 1
    webhook_bad_signature: bool = False
    webhook_delay: float = 0.0
    webhook_attempts: int = 0

    @property
    def finished(self) -> bool:
        """Its video is made, or it is known to have failed."""
        return self.output is not None or self.error is not None

    def state(self, now: float) -> str:
        if now >= self.done_at:
            return "COMPLETED" if self.finished else "IN_PROGRESS"  # the render is still running
        queued_until = self.submitted_at + QUEUE_SHARE * (self.done_at - self.submitted_at)
        return "IN_QUEUE" if now < queued_until else "IN_PROGRESS"


@dataclass
class FakeFal:
    """The fake's state and handlers; ``url`` is set once it listens."""

    key: str = DEFAULT_KEY
    latency: Latency = field(default_factory=lambda: Latency(0.0, 0.0))
    video: VideoMode = "render"
    state_file: Path | None = None
    workdir: Path | None = None
    seed: int | None = None
    webhook_tries: int = WEBHOOK_TRIES
    webhook_backoff: float = WEBHOOK_BACKOFF
    url: str = ""
    runs: dict[str, Run] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)
    counters: dict[str, int] = field(default_factory=dict)
    uploads: dict[str, str] = field(default_factory=dict)  # access URL path → sha256 of the content
    tokens: dict[str, float] = field(default_factory=dict)  # upload token → expiry (epoch seconds)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._closing = asyncio.Event()
        self._run_locks: dict[str, asyncio.Lock] = {}
        self._render_locks: dict[str, asyncio.Lock] = {}
        self._webhook_locks: dict[str, asyncio.Lock] = {}
        self._signing_key = Ed25519PrivateKey.generate()  # a new one each life: clients refetch the JWKS
        self._key_id = secrets.token_hex(4)
        self._session: ClientSession | None = None
        self._runner: web.AppRunner | None = None
        self._work: set[asyncio.Task[None]] = set()  # the renders, started at submit and owned here
        self._renders = asyncio.Semaphore(max(2, (os.cpu_count() or 2) // 2))  # a crash test submits dozens
        self._own_workdir = self.workdir is None
        if self.workdir is None:
            if self.state_file is not None:
                self.workdir = self.state_file.with_name(self.state_file.name + ".files")
            else:
                self.workdir = Path(tempfile.mkdtemp(prefix="fake-fal-"))
            self._own_workdir = self.state_file is None
        self.files.mkdir(parents=True, exist_ok=True)
        self._load()

    @property
    def files(self) -> Path:
        assert self.workdir is not None
        return self.workdir / "files"

    # -- control, in process ---------------------------------------------------------------------------

    def fail(
        self,
        on: FaultPoint,
        status: int,
        *,
        times: int = 1,
        detail: Any = None,
        error_type: str | None = None,
    ) -> None:
        """The next ``times`` calls at ``on`` answer ``status``."""
        self.faults.append(Fault(on=on, times=times, status=status, detail=detail, error_type=error_type))

    def hang(self, on: FaultPoint, *, seconds: float = DEFAULT_HANG, times: int = 1) -> None:
        """The next ``times`` calls at ``on`` get no answer for ``seconds``."""
        self.faults.append(Fault(on=on, times=times, hang=seconds))

    def fail_run(self, error: str, *, error_type: str | None = None, times: int = 1) -> None:
        """The next ``times`` submissions are accepted, then COMPLETE with ``error``."""
        self.faults.append(Fault(on="run", times=times, error=error, error_type=error_type))

    def refuse_edit(self, description: str, *, times: int = 1) -> None:
        """The next ``times`` nano-banana edits complete with no image, only ``description`` saying why."""
        self.faults.append(Fault(on="run", times=times, refuse=description))

    def script_webhook(
        self,
        *,
        copies: int = 1,
        bad_signature: bool = False,
        skip: bool = False,
        delay: float = 0.0,
        times: int = 1,
    ) -> None:
        """How the webhooks of the next ``times`` submissions that ask for one are delivered."""
        fault = Fault(
            on="webhook", times=times, copies=copies, bad_signature=bad_signature, skip=skip, delay=delay
        )
        self.faults.append(fault)

    def rotate_webhook_key(self) -> None:
        """Sign with a new key from now on; the JWKS then lists only the new key."""
        self._signing_key = Ed25519PrivateKey.generate()
        self._key_id = secrets.token_hex(4)

    def jwks(self) -> dict[str, Any]:
        """The public key set, as fal serves it: OKP/Ed25519, ``x`` base64url without padding."""
        raw = self._signing_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        x = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
        return {"keys": [{"kty": "OKP", "crv": "Ed25519", "x": x, "kid": self._key_id, "use": "sig"}]}

    def sign_webhook(
        self,
        body: bytes,
        request_id: str,
        *,
        timestamp: int | None = None,
        key: Ed25519PrivateKey | None = None,
    ) -> dict[str, str]:
        """The headers fal sends with ``body``: signed with this fake's key, or ``key`` (a forger's)."""
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        digest = hashlib.sha256(body).hexdigest()
        message = f"{request_id}\n{WEBHOOK_USER_ID}\n{stamp}\n{digest}".encode()
        signature = (key or self._signing_key).sign(message)
        return {
            "Content-Type": "application/json",
            "X-Fal-Webhook-Request-Id": request_id,
            "X-Fal-Webhook-User-Id": WEBHOOK_USER_ID,
            "X-Fal-Webhook-Timestamp": stamp,
            "X-Fal-Webhook-Signature": signature.hex(),
        }

    async def complete(self, request_id: str | None = None) -> None:
        """Finish one request (or all) now, whatever their latency; returns once their outputs are made and
        their webhooks delivered (or given up)."""
        now = time.time()
        chosen = [run for run in self.runs.values() if request_id in (None, run.request_id)]
        for run in chosen:
            run.done_at = min(run.done_at, now)
        for run in chosen:
            await self._finish(run)
        self._persist()
        for run in chosen:
            await self._deliver(run)

    def stats(self) -> dict[str, Any]:
        """What the fake saw: accepted submissions (with counts per distinct input) and call counters."""
        runs = sorted(self.runs.values(), key=lambda run: run.submitted_at)
        distinct: dict[str, dict[str, Any]] = {}
        for run in runs:
            entry = distinct.setdefault(
                run.fingerprint, {"fingerprint": run.fingerprint, "model": run.model, "request_ids": []}
            )
            entry["request_ids"].append(run.request_id)
        groups = [{**entry, "count": len(entry["request_ids"])} for entry in distinct.values()]
        now = time.time()
        return {
            "total": len(runs),
            "duplicates": sum(group["count"] - 1 for group in groups),
            "distinct": groups,
            "submissions": [
                {
                    "request_id": run.request_id,
                    "model": run.model,
                    "input": run.input,
                    "fingerprint": run.fingerprint,
                    "submitted_at": run.submitted_at,
                    "state": run.state(now),
                    "error": run.error,
                    "webhook": run.webhook,
                    "webhook_state": run.webhook_state,
                    "webhook_attempts": run.webhook_attempts,
                }
                for run in runs
            ],
            "webhooks": {
                "delivered": self.counters.get("webhooks_delivered", 0),
                "failed": self.counters.get("webhooks_failed", 0),
                "rejected_answers": self.counters.get("webhook_rejected_answers", 0),
            },
            "counters": dict(self.counters),
            "pending_faults": [asdict(fault) for fault in self.faults],
            "latency": str(self.latency),
        }

    # -- lifecycle ------------------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        app = web.Application(client_max_size=200 * 1024 * 1024)
        add = app.router.add_route
        add("GET", "/_fake/stats", self._handle_stats)
        add("POST", "/_fake/script", self._handle_script)
        add("POST", "/_fake/complete", self._handle_complete)
        add("POST", "/_fake/reset", self._handle_reset)
        add("GET", "/.well-known/jwks.json", self._handle_jwks)
        add("POST", "/storage/auth/token", self._handle_token)
        add("POST", "/files/upload", self._handle_upload)
        add("GET", "/files/{path:.+}", self._handle_file)
        add("GET", "/{owner}/{app}/requests/{request_id}/status", self._handle_status)
        add("PUT", "/{owner}/{app}/requests/{request_id}/cancel", self._handle_cancel)
        add("GET", "/{owner}/{app}/requests/{request_id}", self._handle_result)
        add("POST", "/{model:.+}", self._handle_submit)
        self._runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=1.0, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]  # port 0: ask the OS
        self.url = f"http://{host}:{bound}"
        self._session = ClientSession(timeout=ClientTimeout(total=20))
        for run in self.runs.values():  # loaded from the state file: finish what a previous life began
            if not run.finished or run.webhook_state == "pending":
                self._start_work(run)

    async def close(self) -> None:
        self._closing.set()
        for task in self._work:
            task.cancel()
        await asyncio.gather(*self._work, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()
        if self._own_workdir and self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)

    # -- queue ----------------------------------------------------------------------------------------

    async def _handle_submit(self, request: web.Request) -> web.StreamResponse:
        self._count("submit_calls")
        if not self._authorised(request):
            return _unauthorised()
        if answer := await self._scripted("submit"):
            self._count("rejected")
            return answer
        model = request.match_info["model"].strip("/")
        if not model.startswith(OMNIHUMAN_PREFIX) and model not in NANO_BANANA_MODELS:
            self._count("rejected")
            return web.json_response({"detail": f"Application '{model}' not found"}, status=404)
        try:
            arguments = await request.json()
        except ValueError:
            arguments = None
        problems = (
            _nano_problems(arguments) if model in NANO_BANANA_MODELS else _omnihuman_problems(arguments)
        )
        if problems:
            self._count("rejected")
            return web.json_response({"detail": problems}, status=422)
        assert isinstance(arguments, dict)
        now = time.time()
        run = Run(
            request_id=str(uuid.uuid4()),
            model=model,
            input=arguments,
            fingerprint=self._fingerprint(model, arguments),
            submitted_at=now,
            done_at=now + self.latency.draw(self._rng),
        )
        if (fault := self._take("run")) is not None:
            if fault.refuse and model in NANO_BANANA_MODELS:
                run.refusal = fault.refuse
            else:
                run.error, run.error_type = fault.error or "the model failed", fault.error_type
        if webhook := request.query.get("fal_webhook"):
            self._plan_webhook(run, webhook)
        position = sum(1 for other in self.runs.values() if other.state(now) == "IN_QUEUE")
        self.runs[run.request_id] = run
        self._persist()
        self._start_work(run)
        base = f"{self.url}/{_app_id(model)}/requests/{run.request_id}"
        return web.json_response(
            {
                "request_id": run.request_id,
                "response_url": base,
                "status_url": f"{base}/status",
                "cancel_url": f"{base}/cancel",
                "queue_position": position,
            }
        )

    async def _handle_status(self, request: web.Request) -> web.StreamResponse:
        self._count("status_calls")
        if not self._authorised(request):
            return _unauthorised()
        if answer := await self._scripted("status"):
            return answer
        run = self.runs.get(request.match_info["request_id"])
        if run is None:
            return web.json_response({"detail": "Request not found"}, status=404)
        now = time.time()
        state = run.state(now)
        if state == "IN_QUEUE":
            position = sum(
                1
                for other in self.runs.values()
                if other.state(now) == "IN_QUEUE" and other.submitted_at < run.submitted_at
            )
            body: dict[str, Any] = {"status": state, "queue_position": position}
            return web.json_response({**body, "request_id": run.request_id}, status=202)
        if state == "IN_PROGRESS":
            return web.json_response({"status": state, "logs": [], "request_id": run.request_id}, status=202)
        body = {
            "status": "COMPLETED",
            "request_id": run.request_id,
            "logs": [],
            "metrics": {"inference_time": round(run.done_at - run.submitted_at, 3)},
        }
        if run.error is not None:
            body |= {"error": run.error, "error_type": run.error_type}
        return web.json_response(body)

    async def _handle_result(self, request: web.Request) -> web.StreamResponse:
        self._count("result_calls")
        if not self._authorised(request):
            return _unauthorised()
        if answer := await self._scripted("result"):
            return answer
        run = self.runs.get(request.match_info["request_id"])
        if run is None:
            return web.json_response({"detail": "Request not found"}, status=404)
        if run.state(time.time()) != "COMPLETED":
            return web.json_response({"detail": "Request is still in progress"}, status=400)
        if run.error is not None:
            item = {"loc": ["body"], "msg": run.error, "type": run.error_type or "model_error"}
            return web.json_response({"detail": [item]}, status=422)
        return web.json_response(run.output)

    async def _handle_cancel(self, request: web.Request) -> web.StreamResponse:
        self._count("cancel_calls")
        if not self._authorised(request):
            return _unauthorised()
        if answer := await self._scripted("cancel"):
            return answer
        run = self.runs.get(request.match_info["request_id"])
        if run is None:
            return web.json_response({"status": "NOT_FOUND"}, status=404)
        now = time.time()
        if run.state(now) == "COMPLETED":
            return web.json_response({"status": "ALREADY_COMPLETED"}, status=400)
        run.done_at, run.error, run.error_type = now, "Request was cancelled", "request_cancelled"
        self._persist()
        return web.json_response({"status": "CANCELLATION_REQUESTED"}, status=202)

    # -- storage and CDN ------------------------------------------------------------------------------

    async def _handle_token(self, request: web.Request) -> web.StreamResponse:
        self._count("token_calls")
        if not self._authorised(request):
            return _unauthorised()
        if answer := await self._scripted("token"):
            return answer
        if request.query.get("storage_type") != "fal-cdn-v3":
            return web.json_response({"detail": "unknown storage_type"}, status=400)
        token = secrets.token_urlsafe(16)
        expires = time.time() + TOKEN_TTL
        self.tokens[token] = expires
        return web.json_response(
            {
                "token": token,
                "token_type": "Bearer",
                "base_url": self.url,
                "created_at": datetime.now(UTC).isoformat(),
                "expires_at": datetime.fromtimestamp(expires, UTC).isoformat(),
            }
        )

    async def _handle_upload(self, request: web.Request) -> web.StreamResponse:
        self._count("upload_calls")
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme != "Bearer" or self.tokens.get(token, 0.0) < time.time():
            return web.json_response({"detail": "invalid or expired upload token"}, status=401)
        if answer := await self._scripted("upload"):
            return answer
        data = await request.read()
        name = _safe_name(request.headers.get("X-Fal-File-Name", "upload.bin"))
        relative = f"uploads/{uuid.uuid4().hex}/{name}"
        target = self.files / relative
        target.parent.mkdir(parents=True)
        await asyncio.to_thread(target.write_bytes, data)
        self.uploads[relative] = hashlib.sha256(data).hexdigest()
        self._count("uploads")
        self._persist()
        return web.json_response({"access_url": f"{self.url}/files/{relative}"})

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        self._count("file_calls")
        if "Authorization" in request.headers:  # the CDN is public: a client sending its key here leaks it
            self._count("file_calls_with_authorization")
        if answer := await self._scripted("file"):
            return answer
        path = (self.files / request.match_info["path"]).resolve()
        if not path.is_relative_to(self.files.resolve()) or not path.is_file():
            return web.json_response({"detail": "Not Found"}, status=404)
        return web.FileResponse(path)

    async def _handle_jwks(self, request: web.Request) -> web.StreamResponse:
        self._count("jwks_calls")
        if answer := await self._scripted("jwks"):
            return answer
        return web.json_response(self.jwks())

    # -- webhooks -------------------------------------------------------------------------------------

    def _plan_webhook(self, run: Run, url: str) -> None:
        run.webhook, run.webhook_state = url, "pending"
        if (fault := self._take("webhook")) is None:
            return
        if fault.skip:
            run.webhook_state = "skipped"
            self._count("webhooks_skipped")
        run.webhook_copies = fault.copies
        run.webhook_bad_signature = fault.bad_signature
        run.webhook_delay = fault.delay

    async def _deliver_when_done(self, run: Run) -> None:
        """Wait for the run's completion time (``complete()`` may bring it forward), then deliver."""
        while not self._closing.is_set() and run.webhook_state == "pending":
            remaining = run.done_at - time.time()
            if remaining <= 0:
                await self._deliver(run)
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), min(remaining, 0.1))

    async def _deliver(self, run: Run) -> None:
        """POST the run's webhook (each copy retried on non-2xx), once whoever calls first."""
        async with self._webhook_locks.setdefault(run.request_id, asyncio.Lock()):
            if run.webhook_state != "pending" or run.webhook is None or not run.finished:
                return
            if run.webhook_delay:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._closing.wait(), run.webhook_delay)
            body = json.dumps(_webhook_body(run)).encode()
            forger = Ed25519PrivateKey.generate() if run.webhook_bad_signature else None
            delivered = 0
            for _ in range(run.webhook_copies):
                if await self._post_webhook(run, body, forger):
                    delivered += 1
            run.webhook_state = "delivered" if delivered else "failed"
            self._persist()

    async def _post_webhook(self, run: Run, body: bytes, forger: Ed25519PrivateKey | None) -> bool:
        assert run.webhook is not None and self._session is not None
        delay = self.webhook_backoff
        for attempt in range(1, self.webhook_tries + 1):
            run.webhook_attempts += 1
            self._count("webhook_attempts")
            headers = self.sign_webhook(body, run.request_id, key=forger)  # signed afresh, as fal does
            try:
                async with self._session.post(
                    URL(run.webhook, encoded=True), data=body, headers=headers
                ) as answer:
                    status = answer.status
            except (ClientError, TimeoutError):
                status = 0
            if 200 <= status < 300:
                self._count("webhooks_delivered")
                return True
            if status in (400, 401, 403):
                self._count("webhook_rejected_answers")
            if attempt < self.webhook_tries and not self._closing.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._closing.wait(), delay)
                delay *= 2
        self._count("webhooks_failed")
        return False

    # -- control over HTTP ----------------------------------------------------------------------------

    async def _handle_stats(self, request: web.Request) -> web.StreamResponse:
        return web.json_response(self.stats())

    async def _handle_script(self, request: web.Request) -> web.StreamResponse:
        try:
            data = await request.json()
            faults = [Fault.from_json(item) for item in data.get("faults", [])]
            latency = Latency.parse(data["latency"]) if "latency" in data else self.latency
        except (ValueError, TypeError, AttributeError, KeyError) as exc:
            return web.json_response({"detail": f"bad script: {exc}"}, status=400)
        self.faults.extend(faults)
        self.latency = latency
        return web.json_response(
            {"pending_faults": [asdict(f) for f in self.faults], "latency": str(self.latency)}
        )

    async def _handle_complete(self, request: web.Request) -> web.StreamResponse:
        data = await request.json() if request.can_read_body else {}
        await self.complete(data.get("request_id") if isinstance(data, dict) else None)
        return web.json_response({"ok": True})

    async def _handle_reset(self, request: web.Request) -> web.StreamResponse:
        self.runs.clear()
        self.faults.clear()
        self.counters.clear()
        self._persist()
        return web.json_response({"ok": True})

    # -- the work -------------------------------------------------------------------------------------

    def _start_work(self, run: Run) -> None:
        task = asyncio.create_task(self._work_on(run))
        self._work.add(task)
        task.add_done_callback(self._work.discard)

    async def _work_on(self, run: Run) -> None:
        await self._finish(run)
        await self._deliver_when_done(run)

    async def _finish(self, run: Run) -> None:
        """Make a run's output (once), or record why it failed."""
        async with self._run_locks.setdefault(run.request_id, asyncio.Lock()):
            if run.finished:
                return
            try:
                if run.model in NANO_BANANA_MODELS:
                    run.output = await self._edit_output(run)
                else:
                    run.output = await self._video_output(run)
            except _RunError as exc:
                run.error, run.error_type = exc.message, exc.error_type
            except Exception as exc:  # whatever breaks, the run must end: a fake that hangs hides bugs
                run.error, run.error_type = f"the output could not be made: {exc}", "internal_error"
            self._persist()

    async def _video_output(self, run: Run) -> dict[str, Any]:
        async with self._renders:
            video = await self._video_for(run)
        info = await probe(video)
        relative = video.relative_to(self.files).as_posix()
        return {
            "video": {
                "url": f"{self.url}/files/{relative}",
                "content_type": "video/mp4",
                "file_name": "output.mp4",
                "file_size": info.size,
            },
            "duration": info.duration,
        }

    async def _edit_output(self, run: Run) -> dict[str, Any]:
        """nano-banana: every input image fetched like fal would, the first one edited for real."""
        if run.refusal is not None:
            return {"images": [], "description": run.refusal}
        sources = [await self._input_file(str(url), "image_urls") for url in run.input["image_urls"]]
        output_format = str(run.input.get("output_format", "png"))
        content_type, extension = OUTPUT_FORMATS[output_format]
        results = self.files / "results"
        results.mkdir(exist_ok=True)
        target = results / f"{run.request_id}.{extension}"
        try:
            width, height = await asyncio.to_thread(
                _edit_image,
                sources[0],
                target,
                prompt=str(run.input["prompt"]),
                aspect_ratio=str(run.input.get("aspect_ratio", "auto")),
                output_format=output_format,
            )
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
            raise _RunError(f"image_urls[0] is not a readable image: {exc}", "image_load_error") from None
        image = {
            "url": f"{self.url}/files/{target.relative_to(self.files).as_posix()}",
            "content_type": content_type,
            "file_name": target.name,
            "file_size": target.stat().st_size,
            "width": width,
            "height": height,
        }
        return {"images": [image], "description": "Here is the edited image."}

    async def _video_for(self, run: Run) -> Path:
        width, height = SIZES[str(run.input.get("resolution", "1080p"))]
        results = self.files / "results"
        results.mkdir(exist_ok=True)
        if self.video == "static":
            target = results / f"static-{width}x{height}.mp4"
            async with self._render_locks.setdefault(target.name, asyncio.Lock()):
                if not target.exists():
                    await run_media_tool(_static_args(target, width, height), time_limit=RENDER_TIME_LIMIT)
            return target
        image = await self._input_file(str(run.input["image_url"]), "image_url")
        audio = await self._input_file(str(run.input["audio_url"]), "audio_url")
        try:  # ffmpeg loops for ever on a still it cannot decode: look at it first
            await asyncio.to_thread(_check_image, image)
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
            raise _RunError(f"image_url is not a readable image: {exc}", "image_load_error") from None
        digest = hashlib.sha256(f"{_sha256(image)}:{_sha256(audio)}:{width}".encode()).hexdigest()[:24]
        target = results / f"{digest}.mp4"
        async with self._render_locks.setdefault(target.name, asyncio.Lock()):
            if not target.exists():
                partial = results / f"{digest}.part.mp4"
                try:
                    seconds = await probe_duration(audio)
                    await run_media_tool(
                        _render_args(image, audio, partial, seconds=seconds, width=width, height=height),
                        time_limit=RENDER_TIME_LIMIT,
                    )
                except MediaProblem as exc:
                    raise _RunError(f"the audio cannot be read: {exc}", "file_error") from None
                except MediaToolError as exc:
                    partial.unlink(missing_ok=True)
                    raise _RunError(f"the inputs cannot be used: {exc.detail[-300:]}", "file_error") from None
                partial.replace(target)
        return target

    async def _input_file(self, url: str, name: str) -> Path:
        """The file a URL of the input names: an upload of ours, or fetched like fal would."""
        own = f"{self.url}/files/"
        if url.startswith(own):
            path = (self.files / url.removeprefix(own)).resolve()
            if path.is_relative_to(self.files.resolve()) and path.is_file():
                return path
            raise _RunError(f"Failed to download the file at {name}: HTTP 404", "file_download_error")
        target = self.files / "fetched" / hashlib.sha256(url.encode()).hexdigest()
        target.parent.mkdir(exist_ok=True)
        try:
            async with (
                ClientSession(timeout=ClientTimeout(total=20)) as session,
                session.get(
                    URL(url, encoded=True)
                ) as response,  # a presigned URL's query must stay as signed
            ):
                if response.status != 200:
                    raise _RunError(
                        f"Failed to download the file at {name}: HTTP {response.status}",
                        "file_download_error",
                    )
                await asyncio.to_thread(target.write_bytes, await response.read())
        except (ClientError, TimeoutError, ValueError) as exc:
            raise _RunError(f"Failed to download the file at {name}: {exc}", "file_download_error") from None
        return target

    def _fingerprint(self, model: str, arguments: Mapping[str, Any]) -> str:
        """The same still and speech give the same fingerprint, however many times they were uploaded."""
        canonical = {
            name: [self._canonical(item) for item in value]
            if isinstance(value, list)
            else self._canonical(value)
            for name, value in arguments.items()
        }
        text = json.dumps({"model": model, "input": canonical}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def _canonical(self, value: Any) -> Any:
        """An uploaded file by its content; a presigned URL without its signature (it changes each time)."""
        if not isinstance(value, str):
            return value
        own = f"{self.url}/files/"
        if value.removeprefix(own) in self.uploads:
            return f"sha256:{self.uploads[value.removeprefix(own)]}"
        if value.startswith(("http://", "https://")) and "X-Amz-Signature=" in value:
            return value.partition("?")[0]
        return value

    # -- helpers --------------------------------------------------------------------------------------

    def _authorised(self, request: web.Request) -> bool:
        if request.headers.get("Authorization") == f"Key {self.key}":
            return True
        self._count("unauthorised")
        return False

    def _take(self, on: FaultPoint) -> Fault | None:
        for fault in self.faults:
            if fault.on == on:
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
                return fault
        return None

    async def _scripted(self, on: FaultPoint) -> web.Response | None:
        fault = self._take(on)
        if fault is None:
            return None
        if fault.hang is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), fault.hang)
        if fault.status is None:
            return None
        return _error_response(fault)

    def _count(self, name: str) -> None:
        self.counters[name] = self.counters.get(name, 0) + 1

    def _persist(self) -> None:
        if self.state_file is None:
            return
        state = {
            "runs": [asdict(run) for run in self.runs.values()],
            "uploads": self.uploads,
            "counters": self.counters,
            "stats": self.stats(),
        }
        partial = self.state_file.with_name(self.state_file.name + ".tmp")
        partial.write_text(json.dumps(state, indent=1))
        partial.replace(self.state_file)

    def _load(self) -> None:
        if self.state_file is None or not self.state_file.exists():
            return
        state = json.loads(self.state_file.read_text())
        self.runs = {run["request_id"]: Run(**run) for run in state.get("runs", [])}
        self.uploads = dict(state.get("uploads", {}))
        self.counters = dict(state.get("counters", {}))


class _RunError(Exception):
    def __init__(self, message: str, error_type: str) -> None:
        super().__init__(message)
        self.message = message
        self.error_type = error_type


def _omnihuman_problems(arguments: Any) -> list[dict[str, Any]]:
    if not isinstance(arguments, dict):
        return [{"loc": ["body"], "msg": "Input should be a valid dictionary", "type": "dict_type"}]
    problems = [
        {"loc": ["body", name], "msg": "Field required", "type": "missing"}
        for name in ("image_url", "audio_url")
        if not isinstance(arguments.get(name), str) or not arguments[name]
    ]
    if arguments.get("resolution", "1080p") not in SIZES:
        problems.append(
            {
                "loc": ["body", "resolution"],
                "msg": "Input should be '720p' or '1080p'",
                "type": "literal_error",
            }
        )
    return problems


def _nano_problems(arguments: Any) -> list[dict[str, Any]]:
    if not isinstance(arguments, dict):
        return [{"loc": ["body"], "msg": "Input should be a valid dictionary", "type": "dict_type"}]
    problems: list[dict[str, Any]] = []
    if not isinstance(arguments.get("prompt"), str) or not arguments["prompt"].strip():
        problems.append({"loc": ["body", "prompt"], "msg": "Field required", "type": "missing"})
    urls = arguments.get("image_urls")
    if not isinstance(urls, list) or not urls or not all(isinstance(u, str) and u for u in urls):
        problems.append({"loc": ["body", "image_urls"], "msg": "Field required", "type": "missing"})
    if arguments.get("num_images", 1) not in (1, 2, 3, 4):
        msg = "Input should be between 1 and 4"
        problems.append({"loc": ["body", "num_images"], "msg": msg, "type": "less_than_equal"})
    if arguments.get("output_format", "png") not in OUTPUT_FORMATS:
        msg = "Input should be 'jpeg', 'png' or 'webp'"
        problems.append({"loc": ["body", "output_format"], "msg": msg, "type": "literal_error"})
    if arguments.get("aspect_ratio", "auto") not in ASPECT_RATIOS:
        msg = f"Input should be one of {sorted(ASPECT_RATIOS)}"
        problems.append({"loc": ["body", "aspect_ratio"], "msg": msg, "type": "literal_error"})
    return problems


def _edit_image(
    source: Path, target: Path, *, prompt: str, aspect_ratio: str, output_format: str
) -> tuple[int, int]:
    """A real edit: cover-cropped to the aspect ratio, a chroma-green backdrop when the prompt asks."""
    with Image.open(source) as opened:
        image = ImageOps.exif_transpose(opened).convert("RGB")
    size = _frame(aspect_ratio, image.size)
    image = ImageOps.fit(image, size, Image.Resampling.LANCZOS)
    if GREEN_PROMPT.search(prompt):
        width, height = size
        subject = Image.new("L", size, 0)  # 255 where the person stays: a bust in the lower middle
        ImageDraw.Draw(subject).ellipse((0.22 * width, 0.14 * height, 0.78 * width, 1.35 * height), fill=255)
        image = Image.composite(image, Image.new("RGB", size, CHROMA_GREEN), subject)
    partial = target.with_name(target.name + ".part")
    save = {"jpeg": "JPEG", "png": "PNG", "webp": "WEBP"}[output_format]
    image.save(partial, format=save, **({"quality": 90} if save != "PNG" else {}))
    partial.replace(target)
    return size


def _frame(aspect_ratio: str, source: tuple[int, int]) -> tuple[int, int]:
    """The size of an edit: the long side LONG_SIDE (9:16 → 720×1280); ``auto`` keeps the source's."""
    if aspect_ratio == "auto":
        return source
    across, down = (int(part) for part in aspect_ratio.split(":"))
    if down >= across:
        return round(LONG_SIDE * across / down), LONG_SIDE
    return LONG_SIDE, round(LONG_SIDE * down / across)


def _webhook_body(run: Run) -> dict[str, Any]:
    """The documented body: OK with the output as payload, or ERROR with the details as payload."""
    body: dict[str, Any] = {"request_id": run.request_id, "gateway_request_id": run.request_id}
    if run.error is None:
        return {**body, "status": "OK", "payload": run.output}
    detail = [{"loc": ["body"], "msg": run.error, "type": run.error_type or "model_error"}]
    return {**body, "status": "ERROR", "error": "Invalid status code: 422", "payload": {"detail": detail}}


def _error_response(fault: Fault) -> web.Response:
    status = fault.status or 500
    if status == 422:
        detail = fault.detail or [{"loc": ["body"], "msg": "Unprocessable input", "type": "value_error"}]
        return web.json_response({"detail": detail}, status=status)
    body: dict[str, Any] = {"detail": fault.detail or _reason(status)}
    headers = {}
    if fault.error_type:
        body["error_type"] = fault.error_type
        headers["X-Fal-Error-Type"] = fault.error_type
    return web.json_response(body, status=status, headers=headers)


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _unauthorised() -> web.Response:
    return web.json_response({"detail": "No user found for Key ID and Secret"}, status=401)


def _app_id(model: str) -> str:
    return "/".join(model.split("/")[:2])


def _safe_name(name: str) -> str:
    cleaned = "".join(c if c.isalnum() or c in "._-" else "_" for c in name).strip("._")
    return cleaned[:100] or "upload.bin"


def _check_image(path: Path) -> None:
    with Image.open(path) as image:
        image.verify()


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _render_args(
    image: Path, audio: Path, output: Path, *, seconds: float, width: int, height: int
) -> list[str]:
    fit = f"scale={width}:{height}:force_original_aspect_ratio=increase,crop={width}:{height},setsar=1"
    return [
        "ffmpeg", "-nostdin", "-y", "-v", "error",
        "-loop", "1", "-framerate", "10", "-f", "image2", "-pattern_type", "none", "-i", file_url(image),
        "-i", file_url(audio), "-map", "0:v", "-map", "1:a", "-vf", f"{fit},format=yuv420p", "-r", "10",
        "-c:v", "libx264", "-preset", "ultrafast", "-tune", "stillimage",
        "-c:a", "aac", "-b:a", "64k", "-t", f"{seconds:.3f}", "-movflags", "+faststart", file_url(output),
    ]  # fmt: skip


def _static_args(output: Path, width: int, height: int) -> list[str]:
    seconds = f"{STATIC_SECONDS:g}"
    return [
        "ffmpeg", "-nostdin", "-y", "-v", "error",
        "-f", "lavfi", "-i", f"color=c=0x3a6ea5:s={width}x{height}:r=10:d={seconds}",
        "-f", "lavfi", "-i", f"sine=frequency=220:sample_rate=44100:duration={seconds}",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
        "-c:a", "aac", "-b:a", "64k", "-shortest", "-movflags", "+faststart", file_url(output),
    ]  # fmt: skip


@asynccontextmanager
async def fal_server(
    *,
    key: str = DEFAULT_KEY,
    latency: Latency | str | float = 0.0,
    video: VideoMode = "render",
    state_file: Path | None = None,
    workdir: Path | None = None,
    seed: int | None = None,
    port: int = 0,
) -> AsyncIterator[FakeFal]:
    """A running fake on 127.0.0.1; point the queue, REST and upload URLs at ``fake.url``."""
    fake = FakeFal(
        key=key,
        latency=latency if isinstance(latency, Latency) else Latency.parse(latency),
        video=video,
        state_file=state_file,
        workdir=workdir,
        seed=seed,
    )
    await fake.start(port=port)
    try:
        yield fake
    finally:
        await fake.close()


async def _serve(args: argparse.Namespace) -> None:
    fake = FakeFal(
        key=args.key,
        latency=Latency.parse(args.latency),
        video=args.video,
        state_file=args.state_file,
        seed=args.seed,
    )
    await fake.start(args.host, args.port)
    print(f"fake fal.ai listening on {fake.url}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await fake.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m tests.fakes.fal_server", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (printed on start)")
    parser.add_argument(
        "--key", default=os.environ.get("FAKE_FAL_KEY", DEFAULT_KEY), help="the FAL key to accept"
    )
    parser.add_argument("--latency", default="0", help="seconds from submit to COMPLETED: N or LOW-HIGH")
    parser.add_argument("--video", choices=["render", "static"], default="render")
    parser.add_argument("--state-file", type=Path, default=None, help="JSON kept up to date with what it saw")
    parser.add_argument("--seed", type=int, default=None)
    asyncio.run(_serve(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
