"""fal.ai's queue API over httpx: submit, status, result, cancel; uploads to and downloads from fal's CDN.

Every answer fal can give becomes either data or a :class:`ProviderError` whose ``transient`` flag tells the
worker whether asking again may help. The client retries only briefly (submit and status, a few tries within
about a second); waiting out a longer outage is the worker's job. The FAL key travels only in the
``Authorization`` header to the queue and REST hosts — never to the CDN, never into a message or a log.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, NoReturn

import httpx

from app.logs import get_logger
from app.services.clock import Clock, SystemClock
from app.services.providers import ProviderError

log = get_logger(__name__)

DEFAULT_QUEUE_URL = "https://queue.fal.run"
DEFAULT_REST_URL = "https://rest.fal.ai"
DEFAULT_UPLOAD_URL = "https://v3.fal.media"
STORAGE_TYPE = "fal-cdn-v3"

MAX_REQUEST_TEXT = 1000  # the worker keeps the serialised request in a column of this size
DETAIL_LIMIT = 600
RETRY_STATUSES = frozenset({408, 409, 429, 502, 503, 504})
BUSY_STATUSES = frozenset({408, 409, 429})
AUTH_STATUSES = frozenset({401, 402, 403})  # 402: the account is out of balance — an operator's problem too
TOKEN_MARGIN = timedelta(seconds=30)  # a token this close to expiry is not worth starting an upload with
DOWNLOAD_CHUNK = 1024 * 1024
DEFAULT_MAX_DOWNLOAD = 512 * 1024 * 1024
# error_type words fal and its models use for refusing the content rather than failing on it.
REFUSAL_WORDS = ("content", "safety", "policy", "nsfw", "moderation", "sensitive")
REDACTED = "<redacted>"
_UNSAFE_FILE_NAME = re.compile(r"[^A-Za-z0-9._-]+")

RunState = Literal["IN_QUEUE", "IN_PROGRESS", "COMPLETED"]
RUN_STATES: frozenset[str] = frozenset({"IN_QUEUE", "IN_PROGRESS", "COMPLETED"})
# Which transport failures may be retried: "all" for reads, "connect" where a retry could pay twice.
RetryOn = Literal["all", "connect", "none"]
_NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


@dataclass(frozen=True, slots=True)
class FalRequest:
    """A submitted request: its id and the URLs fal returned for it (used as given, never rebuilt)."""

    model: str
    request_id: str
    status_url: str
    response_url: str
    cancel_url: str

    def dumps(self) -> str:
        """One compact JSON string, what the worker stores before it starts waiting."""
        fields = {
            "model": self.model,
            "id": self.request_id,
            "status": self.status_url,
            "response": self.response_url,
            "cancel": self.cancel_url,
        }
        return json.dumps(fields, separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def loads(cls, text: str) -> FalRequest:
        """The request :meth:`dumps` wrote; ``ValueError`` for anything else."""
        try:
            data = json.loads(text)
        except ValueError:
            raise ValueError("not a stored fal request: not JSON") from None
        if not isinstance(data, dict):
            raise ValueError("not a stored fal request: not a JSON object")
        values = [data.get(name) for name in ("model", "id", "status", "response", "cancel")]
        if not all(isinstance(value, str) and value for value in values):
            raise ValueError("not a stored fal request: model, id or a URL is missing")
        model, request_id, status_url, response_url, cancel_url = (str(value) for value in values)
        return cls(model, request_id, status_url, response_url, cancel_url)


def stored_request_id(stored: str | None) -> str | None:
    """fal's own request id in what :meth:`FalRequest.dumps` wrote; None for anything else."""
    if not stored:
        return None
    try:
        return FalRequest.loads(stored).request_id
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class FalStatus:
    state: RunState
    queue_position: int | None = None
    error: str | None = None  # set when a COMPLETED run failed
    error_type: str | None = None

    @property
    def done(self) -> bool:
        return self.state == "COMPLETED"

    @property
    def failed(self) -> bool:
        return self.done and (bool(self.error) or bool(self.error_type))


def run_failure(status: FalStatus) -> ProviderError:
    """The permanent error for a run fal reports as COMPLETED with an ``error``."""
    reason = "content_refused" if _is_refusal(status.error_type) else "video_failed"
    kind = f" ({status.error_type})" if status.error_type else ""
    return ProviderError(reason, f"fal run failed{kind}: {status.error or 'no message'}"[:DETAIL_LIMIT])


def new_http_client(*, timeout: float = 30.0, connect_timeout: float = 10.0) -> httpx.AsyncClient:
    """An httpx client fit for fal: bounded waits, no redirects to hosts that should not see the key."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(timeout, connect=connect_timeout), follow_redirects=False, trust_env=False
    )


@dataclass(frozen=True, slots=True)
class _StorageToken:
    header: str  # "<token_type> <token>"
    base_url: str
    expires_at: datetime | None  # None: unknown, so used for one upload only


class FalQueueClient:
    """fal.ai's queue and storage API; ``http`` belongs to the caller, who also closes it."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        key: str,
        *,
        queue_url: str = DEFAULT_QUEUE_URL,
        rest_url: str = DEFAULT_REST_URL,
        upload_url: str = DEFAULT_UPLOAD_URL,
        tries: int = 3,
        first_backoff: float = 0.1,
        max_backoff: float = 1.0,
        clock: Clock | None = None,
    ) -> None:
        if not key.strip():
            raise ValueError("the FAL key is empty: set it in the settings")
        if tries < 1:
            raise ValueError(f"tries must be at least 1, not {tries}")
        self._http = http
        self._key = key
        self._auth = {"Authorization": f"Key {key}", "Accept": "application/json"}
        self._queue_url = queue_url.rstrip("/")
        self._rest_url = rest_url.rstrip("/")
        self._upload_url = upload_url.rstrip("/")
        self._tries = tries
        self._first_backoff = first_backoff
        self._max_backoff = max_backoff
        self._clock = clock or SystemClock()
        self._token: _StorageToken | None = None
        self._token_lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"FalQueueClient(queue_url={self._queue_url!r})"

    async def submit(
        self, model: str, arguments: Mapping[str, Any], *, webhook_url: str | None = None
    ) -> FalRequest:
        """Queue a run of ``model``; retried only when fal surely did not take it (busy, not reached).

        With ``webhook_url`` fal also POSTs the outcome there (query ``fal_webhook``, as the official client
        sends it); the returned URLs still work, so polling stays the fallback for a lost webhook.
        """
        model = model.strip("/")
        what = f"fal submit to {model}"
        params = {"fal_webhook": webhook_url} if webhook_url else None
        response = await self._send(
            "POST",
            f"{self._queue_url}/{model}",
            what=what,
            retry="connect",
            json=dict(arguments),
            params=params,
        )
        if response.status_code != 200:
            self._raise_for(response, what, missing="provider_rejected")
        data = self._json_object(response, what)
        request_id = data.get("request_id")
        if not isinstance(request_id, str) or not request_id:
            raise self._error("provider_unavailable", f"{what}: the answer has no request_id")
        base = f"{self._queue_url}/{_app_id(model)}/requests/{request_id}"
        request = FalRequest(
            model=model,
            request_id=request_id,
            status_url=_url_or(data.get("status_url"), f"{base}/status"),
            response_url=_url_or(data.get("response_url"), base),
            cancel_url=_url_or(data.get("cancel_url"), f"{base}/cancel"),
        )
        if len(request.dumps()) > MAX_REQUEST_TEXT:
            raise self._error("provider_unavailable", f"{what}: request {request_id} has oversized URLs")
        log.info("fal request submitted", model=model, request_id=request_id, webhook=webhook_url is not None)
        return request

    async def status(self, request: FalRequest) -> FalStatus:
        what = f"fal status of {request.model} {request.request_id}"
        response = await self._send("GET", request.status_url, what=what, retry="all")
        if response.status_code not in (200, 202):
            self._raise_for(response, what, missing="video_failed")
        data = self._json_object(response, what)
        state = data.get("status")
        if state not in RUN_STATES:
            raise self._error("provider_unavailable", f"{what}: unknown status {str(state)[:40]!r}", True)
        position = data.get("queue_position")
        return FalStatus(
            state=state,
            queue_position=position if isinstance(position, int) else None,
            error=_text(data.get("error")),
            error_type=_text(data.get("error_type")),
        )

    async def result(self, request: FalRequest) -> dict[str, Any]:
        """The model's output of a COMPLETED request."""
        what = f"fal result of {request.model} {request.request_id}"
        response = await self._send("GET", request.response_url, what=what, retry="none")
        if response.status_code != 200:
            self._raise_for(response, what, missing="video_failed", run_finished=True)
        return self._json_object(response, what)

    async def poll(self, request: FalRequest) -> dict[str, Any] | None:
        """The output once the run is done, None while it waits or runs; a failed run raises permanently."""
        status = await self.status(request)
        if not status.done:
            return None
        if status.failed:
            raise run_failure(status)
        return await self.result(request)

    async def cancel(self, request: FalRequest) -> str:
        """Ask fal to drop the request; returns fal's answer, e.g. ``CANCELLATION_REQUESTED``."""
        what = f"fal cancel of {request.model} {request.request_id}"
        response = await self._send("PUT", request.cancel_url, what=what, retry="none")
        answer = _status_word(response)
        if response.status_code < 300 or answer in {"ALREADY_COMPLETED", "NOT_FOUND"}:
            return answer or "OK"
        self._raise_for(response, what, missing="video_failed")

    async def upload(self, path: Path, content_type: str) -> str:
        """Put a local file on fal's CDN; returns the URL a model can read it from."""
        what = f"fal upload of {path.name}"
        try:
            data = await asyncio.to_thread(path.read_bytes)
        except OSError as exc:
            raise ProviderError("missing_file", f"{what}: {exc.strerror or exc}") from None
        for fresh in (False, True):
            token = await self._storage_token(fresh=fresh)
            headers = {
                "Authorization": token.header,
                "Content-Type": content_type,
                "X-Fal-File-Name": _safe_file_name(path.name),
            }
            response = await self._send(
                "POST",
                f"{token.base_url}/files/upload",
                what=what,
                retry="none",
                headers=headers,
                content=data,
            )
            if response.status_code in (401, 403) and not fresh:
                self._token = None  # revoked or expired early: one more try with a new token
                continue
            if response.status_code >= 300:
                self._raise_for(response, what, missing="provider_rejected")
            url = self._json_object(response, what).get("access_url")
            if not isinstance(url, str) or not url.startswith(("https://", "http://")):
                raise self._error("provider_unavailable", f"{what}: the answer has no access_url", True)
            return url
        raise AssertionError("unreachable: the second upload attempt returns or raises")

    async def download(self, url: str, dest: Path, *, max_bytes: int = DEFAULT_MAX_DOWNLOAD) -> Path:
        """Stream a file fal made (a public CDN URL, fetched without the key) to ``dest``."""
        what = "fal file download"
        if not url.startswith(("https://", "http://")):
            raise self._error("video_failed", f"{what}: not an http(s) URL: {url[:80]!r}")
        partial = dest.with_name(dest.name + ".part")
        try:
            async with self._http.stream("GET", url) as response:
                if response.status_code != 200:
                    # The CDN is public: a 403 or 404 there means the file is gone, not that the key is bad.
                    code = response.status_code
                    transient = code in BUSY_STATUSES or code >= 500
                    reason = "provider_unavailable" if transient else "video_failed"
                    raise self._error(reason, f"{what}: HTTP {code}", transient)
                await self._save(response, partial, max_bytes, what)
        except httpx.TransportError as exc:
            await asyncio.to_thread(partial.unlink, missing_ok=True)
            raise self._transport_error(exc, what) from None
        except BaseException:
            await asyncio.to_thread(partial.unlink, missing_ok=True)
            raise
        await asyncio.to_thread(partial.replace, dest)
        return dest

    async def _save(self, response: httpx.Response, partial: Path, max_bytes: int, what: str) -> None:
        size = 0
        handle = await asyncio.to_thread(partial.open, "wb")
        try:
            async for chunk in response.aiter_bytes(DOWNLOAD_CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise self._error("video_failed", f"{what}: larger than {max_bytes} bytes")
                await asyncio.to_thread(handle.write, chunk)
        finally:
            await asyncio.to_thread(handle.close)

    async def _storage_token(self, *, fresh: bool) -> _StorageToken:
        async with self._token_lock:
            cached = self._token
            if (
                cached is not None
                and cached.expires_at is not None
                and not fresh
                and self._clock.now() + TOKEN_MARGIN < cached.expires_at
            ):
                return cached
            what = "fal storage token"
            response = await self._send(
                "POST",
                f"{self._rest_url}/storage/auth/token",
                what=what,
                retry="none",
                params={"storage_type": STORAGE_TYPE},
                json={},
            )
            if response.status_code != 200:
                self._raise_for(response, what, missing="provider_unavailable")
            data = self._json_object(response, what)
            token = data.get("token")
            if not isinstance(token, str) or not token:
                raise self._error("provider_unavailable", f"{what}: the answer has no token", True)
            token_type = _text(data.get("token_type")) or "Bearer"
            base_url = _url_or(data.get("base_url"), self._upload_url).rstrip("/")
            self._token = _StorageToken(f"{token_type} {token}", base_url, _expiry(data.get("expires_at")))
            return self._token

    async def _send(
        self, method: str, url: str, *, what: str, retry: RetryOn, **kwargs: Any
    ) -> httpx.Response:
        """The response to the first try that fal did not turn away as busy, or to the last try."""
        headers = kwargs.pop("headers", None) or self._auth
        delay = self._first_backoff
        for attempt in range(1, self._tries + 1):
            last = attempt == self._tries or retry == "none"
            try:
                response = await self._http.request(method, url, headers=headers, **kwargs)
            except httpx.TransportError as exc:
                safe = retry == "all" or isinstance(exc, _NEVER_SENT)
                if last or not safe:
                    raise self._transport_error(exc, what) from None
                log.warning("fal call failed, retrying", call=what, attempt=attempt, error=type(exc).__name__)
            else:
                if response.status_code not in RETRY_STATUSES or last:
                    return response
                log.warning(
                    "fal call turned away, retrying", call=what, attempt=attempt, status=response.status_code
                )
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._max_backoff)
        raise AssertionError("unreachable: the last try returns or raises")

    def _raise_for(
        self, response: httpx.Response, what: str, *, missing: str, run_finished: bool = False
    ) -> NoReturn:
        """Raise the ProviderError an unwanted answer means; ``missing`` is the reason for a 404."""
        code = response.status_code
        message, error_type, items = _fal_error(response)
        kind = f" {error_type}" if error_type else ""
        detail = f"{what}: HTTP {code}{kind}: {message}" if message else f"{what}: HTTP {code}{kind}"
        if code in AUTH_STATUSES:
            raise self._error("provider_auth", detail)
        if code == 422:
            refused = any(_is_refusal(_text(item.get("type"))) for item in items) or _is_refusal(error_type)
            raise self._error("content_refused" if refused else "provider_rejected", detail)
        if code in BUSY_STATUSES:
            raise self._error("provider_busy", detail, True)
        if code >= 500:
            # After COMPLETED a typed 5xx is fal telling how the run ended (request_timeout…): no outage.
            if run_finished and error_type:
                raise self._error("video_failed", detail)
            raise self._error("provider_unavailable", detail, True)
        if code == 404:
            raise self._error(missing, detail, missing == "provider_unavailable")
        raise self._error("provider_rejected", detail)

    def _transport_error(self, exc: httpx.TransportError, what: str) -> ProviderError:
        kind = "timed out" if isinstance(exc, httpx.TimeoutException) else "could not reach fal"
        return self._error("provider_unavailable", f"{what}: {kind} ({type(exc).__name__}: {exc})", True)

    def _json_object(self, response: httpx.Response, what: str) -> dict[str, Any]:
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise self._error("provider_unavailable", f"{what}: the answer is not a JSON object", True)
        return data

    def _error(self, reason: str, detail: str, transient: bool = False) -> ProviderError:
        return ProviderError(reason, detail.replace(self._key, REDACTED)[:DETAIL_LIMIT], transient=transient)


def _fal_error(response: httpx.Response) -> tuple[str, str | None, list[dict[str, Any]]]:
    """fal's message, error type and validation items from an error answer of any shape."""
    error_type = response.headers.get("X-Fal-Error-Type")
    try:
        data = response.json()
    except ValueError:
        return " ".join(response.text.split())[:300], error_type, []
    if not isinstance(data, dict):
        return json.dumps(data)[:300], error_type, []
    error_type = error_type or _text(data.get("error_type"))
    detail = data.get("detail")
    if isinstance(detail, list):
        items = [item for item in detail if isinstance(item, dict)]
        return "; ".join(_validation_message(item) for item in items), error_type, items
    if isinstance(detail, str):
        return detail, error_type, []
    return json.dumps(detail if detail is not None else data)[:300], error_type, []


def _validation_message(item: Mapping[str, Any]) -> str:
    location = [str(part) for part in item.get("loc") or []]
    if location[:1] == ["body"]:
        location = location[1:]
    message = str(item.get("msg") or item.get("type") or "invalid")
    return f"{'.'.join(location)}: {message}" if location else message


def _status_word(response: httpx.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return ""
    return str(data.get("status") or "") if isinstance(data, dict) else ""


def _is_refusal(error_type: str | None) -> bool:
    return bool(error_type) and any(word in str(error_type).lower() for word in REFUSAL_WORDS)


def _app_id(model: str) -> str:
    """``owner/app`` of a model path: status and result URLs never carry the model's subpath."""
    return "/".join(model.split("/")[:2])


def _url_or(value: Any, fallback: str) -> str:
    return value if isinstance(value, str) and value.startswith(("https://", "http://")) else fallback


def _text(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def _safe_file_name(name: str) -> str:
    """An ASCII file name for a header: phones and users name files in any script."""
    return _UNSAFE_FILE_NAME.sub("_", name).strip("._") or "file"


def _expiry(value: Any) -> datetime | None:
    """``expires_at`` as fal sends it (ISO 8601 or epoch seconds); None when it cannot be read."""
    try:
        if isinstance(value, int | float):
            return datetime.fromtimestamp(value, UTC)
        if isinstance(value, str):
            moment = datetime.fromisoformat(value)
            return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    except (ValueError, OverflowError, OSError):
        return None
    return None
