"""``ObjectStorage`` on an S3 API (Cloudflare R2 in production, moto in tests) through one aiobotocore client.

Settings (``app/config.py``): ``STORAGE_BACKEND=s3``, ``S3_ENDPOINT_URL``, ``S3_BUCKET``,
``S3_ACCESS_KEY_ID``, ``S3_SECRET_ACCESS_KEY`` (secret), ``S3_REGION`` (``auto`` for R2).
Large files go up in a multipart upload, read part by part, so a 2 GB video never sits in memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, BinaryIO, Self, cast

import aiohttp
from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from botocore.exceptions import BotoCoreError, ClientError

from app.logs import get_logger
from app.services.providers import ProviderError, StoredObject
from app.services.storage.keys import validate_key

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client
    from types_aiobotocore_s3.literals import BucketLocationConstraintType
    from types_aiobotocore_s3.type_defs import CompletedPartTypeDef, LifecycleRuleTypeDef

log = get_logger(__name__)

MAX_PRESIGNED_SECONDS = 604_800  # SigV4 presigned URLs live at most 7 days, on R2 as on S3
MIB = 1024 * 1024
MIN_PART_SIZE = 5 * MIB  # S3 and R2 refuse smaller parts (but the last)
MAX_PART_SIZE = 5 * 1024 * MIB
MAX_PARTS = 10_000
MAX_SINGLE_PUT = 5_000_000_000  # R2 takes at most 4.995 GiB in one PutObject
ABORT_RULE_ID = "abort-incomplete-multipart"
_CHUNK = 1024 * 1024
_MISSING_OBJECT = frozenset({"NoSuchKey", "NotFound", "404"})
_BUCKET_IS_THERE = frozenset({"BucketAlreadyOwnedByYou", "BucketAlreadyExists"})
_BUSY = frozenset({"SlowDown", "RequestTimeout", "InternalError", "ServiceUnavailable"})


class StorageError(ProviderError):
    """The object store refused a request or could not be reached; names bucket and key, never a secret.

    ``code`` is the S3 error code (``NoSuchBucket``, ``InvalidAccessKeyId``, ``403`` for a body-less answer)
    or, when no answer came, the network exception's class name; ``status`` is the HTTP status or 0.
    """

    def __init__(
        self,
        operation: str,
        bucket: str,
        key: str,
        cause: str,
        *,
        transient: bool,
        code: str = "",
        status: int = 0,
    ) -> None:
        where = f"s3://{bucket}/{key}" if key else f"s3://{bucket}"
        super().__init__("storage_failed", f"{operation} {where} failed: {cause}", transient=transient)
        self.operation = operation
        self.bucket = bucket
        self.key = key
        self.code = code
        self.status = status


class S3Storage:
    """Objects in one bucket; use as ``async with S3Storage(...) as storage:`` or ``open()`` … ``close()``.

    One client (one connection pool) serves the whole process: making a client per call costs a TLS handshake
    and a service-model load each time.
    """

    def __init__(
        self,
        endpoint_url: str | None,
        bucket: str,
        access_key_id: str,
        secret_access_key: str,
        region: str = "auto",
        *,
        connect_timeout: float = 5.0,
        read_timeout: float = 60.0,
        max_attempts: int = 3,
        multipart_threshold: int = 64 * MIB,
        part_size: int = 16 * MIB,
    ) -> None:
        if not bucket:
            raise ValueError("S3 bucket name is empty")
        # Empty credentials would make botocore fall back to ~/.aws and the environment: refuse instead.
        if not access_key_id or not secret_access_key:
            raise ValueError(f"S3 credentials for bucket {bucket!r} are empty")
        if not MIN_PART_SIZE <= part_size <= MAX_PART_SIZE:
            raise ValueError(f"part_size must be {MIN_PART_SIZE}–{MAX_PART_SIZE} bytes, got {part_size}")
        if not 1 <= multipart_threshold <= MAX_SINGLE_PUT:
            raise ValueError(
                f"multipart_threshold must be 1–{MAX_SINGLE_PUT} bytes (the largest single PUT), "
                f"got {multipart_threshold}"
            )
        self._multipart_threshold = multipart_threshold
        self._part_size = part_size
        self._endpoint_url = endpoint_url
        self._bucket = bucket
        self._access_key_id = access_key_id
        self._secret = secret_access_key
        self._region = region
        # R2 rejects the checksums botocore >= 1.36 adds by default. Path-style addressing works on R2, S3
        # and any local server, whatever its host name; virtual hosts would need DNS for <bucket>.<host>.
        self._config = AioConfig(
            signature_version="s3v4",
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            retries={"total_max_attempts": max_attempts, "mode": "standard"},
            s3={"addressing_style": "path"} if endpoint_url else None,
        )
        self._client: S3Client | None = None
        self._stack: AsyncExitStack | None = None

    def __repr__(self) -> str:
        return f"S3Storage(endpoint_url={self._endpoint_url!r}, bucket={self._bucket!r})"

    @property
    def bucket(self) -> str:
        return self._bucket

    async def open(self) -> None:
        """Creates the client; no request is sent yet."""
        if self._client is not None:
            raise RuntimeError(f"{self!r} is already open")
        stack = AsyncExitStack()
        self._client = await stack.enter_async_context(
            get_session().create_client(
                "s3",
                endpoint_url=self._endpoint_url,
                region_name=self._region,
                aws_access_key_id=self._access_key_id,
                aws_secret_access_key=self._secret,
                config=self._config,
            )
        )
        self._stack = stack

    async def close(self) -> None:
        """Closes the client and its connections; closing twice is fine."""
        stack, self._stack, self._client = self._stack, None, None
        if stack is not None:
            await stack.aclose()

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def put_file(self, key: str, path: Path, *, content_type: str) -> StoredObject:
        """Uploads ``path`` as ``key`` (replacing what was there): one PutObject below the multipart
        threshold, a multipart upload of equal parts from it on; readers see the old object or the new one."""
        validate_key(key)
        client = self._open_client()
        size = (await asyncio.to_thread(path.stat)).st_size
        if size >= self._multipart_threshold:
            await self._put_multipart(client, key, path, size, content_type)
            return StoredObject(key=key, size=size, content_type=content_type)
        source = await asyncio.to_thread(path.open, "rb")
        with self._failures("put", key), source as body:
            await client.put_object(
                Bucket=self._bucket, Key=key, Body=body, ContentLength=size, ContentType=content_type
            )
        return StoredObject(key=key, size=size, content_type=content_type)

    async def _put_multipart(
        self, client: S3Client, key: str, path: Path, size: int, content_type: str
    ) -> None:
        """Parts of ``part_size`` bytes (R2 wants all but the last equal), one in memory at a time.

        Whatever goes wrong, cancellation included, the upload is aborted so no parts linger (and bill);
        the bucket's abort rule (``storage init``) catches what a killed process leaves.
        """
        if -(-size // self._part_size) > MAX_PARTS:
            raise ValueError(
                f"{path.name} is {size} bytes: more than {MAX_PARTS} parts of {self._part_size} bytes"
            )
        with self._failures("start multipart upload of", key):
            created = await client.create_multipart_upload(
                Bucket=self._bucket, Key=key, ContentType=content_type
            )
        upload_id = created["UploadId"]
        try:
            source = await asyncio.to_thread(path.open, "rb")
            with self._failures("put", key), source:
                parts: list[CompletedPartTypeDef] = []
                sent = 0
                while chunk := await asyncio.to_thread(source.read, self._part_size):
                    number = len(parts) + 1
                    answer = await client.upload_part(
                        Bucket=self._bucket,
                        Key=key,
                        UploadId=upload_id,
                        PartNumber=number,
                        Body=chunk,
                        ContentLength=len(chunk),
                    )
                    parts.append({"ETag": answer["ETag"], "PartNumber": number})
                    sent += len(chunk)
                    del chunk  # let the part go before the next one is read
                if sent != size:
                    # A file rewritten under us would be stored torn, or with parts of unequal sizes.
                    raise OSError(f"{path.name} changed size during the upload ({size} → {sent} bytes)")
                await client.complete_multipart_upload(
                    Bucket=self._bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
                )
        except BaseException:
            await asyncio.shield(self._abort_multipart(client, key, upload_id))
            raise

    async def _abort_multipart(self, client: S3Client, key: str, upload_id: str) -> None:
        try:
            await client.abort_multipart_upload(Bucket=self._bucket, Key=key, UploadId=upload_id)
        except (ClientError, BotoCoreError, aiohttp.ClientError, TimeoutError) as exc:
            # The original failure is what the caller must see; the lifecycle rule removes the parts later.
            log.warning(
                "s3: could not abort a failed multipart upload",
                bucket=self._bucket,
                key=key,
                upload_id=upload_id,
                error=self._redact(f"{type(exc).__name__}: {exc}"),
            )

    async def get_file(self, key: str, dest: Path) -> Path:
        """Downloads the object to ``dest`` through a temp file beside it, so ``dest`` is never half-written.

        FileNotFoundError when there is no such object.
        """
        validate_key(key)
        client = self._open_client()
        with self._failures("get", key):
            try:
                response = await client.get_object(Bucket=self._bucket, Key=key)
            except ClientError as exc:
                if _code(exc) in _MISSING_OBJECT:
                    raise FileNotFoundError(f"no object {key!r} in bucket {self._bucket!r}") from None
                raise
            async with response["Body"] as body:
                await _save_atomically(body.iter_chunks(_CHUNK), dest)
        return dest

    def local_path(self, key: str) -> Path | None:
        """Objects live in the bucket, never on this machine."""
        validate_key(key)
        return None

    async def exists(self, key: str) -> bool:
        """Whether the object is there (a missing bucket also answers False: HEAD has no body to tell)."""
        validate_key(key)
        client = self._open_client()
        with self._failures("head", key):
            try:
                await client.head_object(Bucket=self._bucket, Key=key)
            except ClientError as exc:
                if _code(exc) in _MISSING_OBJECT:
                    return False
                raise
        return True

    async def delete(self, key: str) -> None:
        """Removes the object; a missing object is not an error."""
        validate_key(key)
        client = self._open_client()
        with self._failures("delete", key):
            await client.delete_object(Bucket=self._bucket, Key=key)

    async def presigned_url(self, key: str, *, expires: int) -> str:
        """A GET URL valid for ``expires`` seconds (1–604800); signed locally, no request is sent."""
        validate_key(key)
        if (
            isinstance(expires, bool)
            or not isinstance(expires, int)
            or not 1 <= expires <= MAX_PRESIGNED_SECONDS
        ):
            raise ValueError(f"presigned URLs last 1–{MAX_PRESIGNED_SECONDS} seconds, got {expires!r}")
        client = self._open_client()
        with self._failures("presign", key):
            return await client.generate_presigned_url(
                "get_object", Params={"Bucket": self._bucket, "Key": key}, ExpiresIn=expires
            )

    async def ensure_bucket(self) -> None:
        """Creates the bucket when it is missing (moto, dev); a bucket already there is left as it is."""
        client = self._open_client()
        with self._failures("ensure bucket", ""):
            try:
                await client.head_bucket(Bucket=self._bucket)
                return
            except ClientError as exc:
                if _status(exc) != 404:
                    raise
            try:
                if self._region == "us-east-1":  # the one region S3 wants without a location constraint
                    await client.create_bucket(Bucket=self._bucket)
                else:
                    await client.create_bucket(
                        Bucket=self._bucket,
                        CreateBucketConfiguration={
                            "LocationConstraint": cast("BucketLocationConstraintType", self._region)
                        },
                    )
            except ClientError as exc:
                if _code(exc) not in _BUCKET_IS_THERE:  # created meanwhile by another process
                    raise

    async def expire_prefix(self, prefix: str, days: int) -> None:
        """A lifecycle rule deleting objects under ``prefix`` (e.g. ``tmp/``) ``days`` days after upload.

        Other rules of the bucket (R2 adds one that aborts stale multipart uploads) are kept; calling it
        again for the same prefix replaces that prefix's rule.
        """
        validate_key(prefix.removesuffix("/"))  # an empty prefix would expire the whole bucket
        if isinstance(days, bool) or not isinstance(days, int) or days < 1:
            raise ValueError(f"lifecycle expiry is a whole number of days ≥ 1, got {days!r}")
        await self._put_rule(
            {
                "ID": f"expire:{prefix}",
                "Status": "Enabled",
                "Filter": {"Prefix": prefix},
                "Expiration": {"Days": days},
            },
            prefix,
        )

    async def abort_incomplete_uploads(self, days: int = 1) -> None:
        """A lifecycle rule removing the parts of multipart uploads left unfinished for ``days`` days.

        ``put_file`` aborts its own failed uploads; this catches those of a process killed mid-upload.
        Other rules are kept; calling it again replaces this rule.
        """
        if isinstance(days, bool) or not isinstance(days, int) or days < 1:
            raise ValueError(f"lifecycle expiry is a whole number of days ≥ 1, got {days!r}")
        await self._put_rule(
            {
                "ID": ABORT_RULE_ID,
                "Status": "Enabled",
                "Filter": {"Prefix": ""},
                "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": days},
            },
            "",
        )

    async def lifecycle_rules(self) -> list[LifecycleRuleTypeDef]:
        """The bucket's lifecycle rules as the store reports them; empty when it has none."""
        client = self._open_client()
        with self._failures("read lifecycle of", ""):
            return await self._current_rules(client)

    async def _put_rule(self, rule: LifecycleRuleTypeDef, where: str) -> None:
        client = self._open_client()
        with self._failures("set lifecycle of", where):
            current = await self._current_rules(client)
            kept: list[Any] = [other for other in current if other.get("ID") != rule["ID"]]
            await client.put_bucket_lifecycle_configuration(
                Bucket=self._bucket, LifecycleConfiguration={"Rules": [*kept, rule]}
            )

    async def _current_rules(self, client: S3Client) -> list[LifecycleRuleTypeDef]:
        try:
            answer = await client.get_bucket_lifecycle_configuration(Bucket=self._bucket)
        except ClientError as exc:
            if _code(exc) != "NoSuchLifecycleConfiguration":
                raise
            return []
        return cast("list[LifecycleRuleTypeDef]", answer.get("Rules", []))

    def _open_client(self) -> S3Client:
        if self._client is None:
            raise RuntimeError(f"{self!r} is not open: use `async with` or await open() first")
        return self._client

    @contextlib.contextmanager
    def _failures(self, operation: str, key: str) -> Iterator[None]:
        """Turns S3 and network failures into one StorageError naming the bucket and key."""
        try:
            yield
        except ClientError as exc:
            status = _status(exc)
            busy = status >= 500 or status == 429 or _code(exc) in _BUSY
            error = exc.response.get("Error", {})
            cause = f"{error.get('Code', '?')} {error.get('Message', '')} (HTTP {status})"
            raise StorageError(
                operation,
                self._bucket,
                key,
                self._redact(cause),
                transient=busy,
                code=_code(exc),
                status=status,
            ) from exc
        except (BotoCoreError, aiohttp.ClientError, TimeoutError) as exc:
            cause = f"{type(exc).__name__}: {exc}"
            raise StorageError(
                operation, self._bucket, key, self._redact(cause), transient=True, code=type(exc).__name__
            ) from exc

    def _redact(self, text: str) -> str:
        # Real secrets are long; a toy one ("b", "test") would blank out ordinary words of the message.
        return text.replace(self._secret, "***") if len(self._secret) >= 8 else text


async def _save_atomically(chunks: AsyncIterator[bytes], dest: Path) -> None:
    out, part = await asyncio.to_thread(_open_part, dest)
    try:
        with out:
            async for chunk in chunks:
                await asyncio.to_thread(out.write, chunk)
            await asyncio.to_thread(_flush, out)
        await asyncio.to_thread(_publish, part, dest)
    except BaseException:
        _discard(part)  # synchronous on purpose: it must run even while the task is being cancelled
        raise


def _open_part(dest: Path) -> tuple[BinaryIO, Path]:
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    return os.fdopen(fd, "wb"), Path(name)


def _flush(out: BinaryIO) -> None:
    out.flush()
    os.fsync(out.fileno())


def _publish(part: Path, dest: Path) -> None:
    part.chmod(0o644)
    part.replace(dest)


def _discard(part: Path) -> None:
    with contextlib.suppress(OSError):
        part.unlink()


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _status(exc: ClientError) -> int:
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
