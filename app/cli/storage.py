"""``python -m app storage init``: make the object storage ready — bucket, lifecycle rules, or the directory.

Run once per deployment (again after changing ``--tmp-days``); it is safe to repeat. It prints what it did
and the rules the bucket now has; a failure is one line naming the variable to fix, never a secret.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from app.config import ConfigError, Settings, load_settings
from app.services.storage.s3 import ABORT_RULE_ID, S3Storage, StorageError

if TYPE_CHECKING:
    from types_aiobotocore_s3.type_defs import LifecycleRuleTypeDef

DEFAULT_TMP_DAYS = 7
ABORT_AFTER_DAYS = 1
# Codes an S3 API answers when the key pair is unknown, wrong or lacks permission ("403": a HEAD has no body).
_CREDENTIAL_CODES = frozenset(
    {
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "AccessDenied",
        "InvalidToken",
        "Unauthorized",
        "401",
        "403",
    }
)
_BUCKET_CODES = frozenset({"NoSuchBucket", "InvalidBucketName", "BucketAlreadyExists"})


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m app storage",
        description="Make the object storage ready; safe to repeat. Prints what it did; a failure is one "
        "line naming the variable to fix.",
    )
    commands = parser.add_subparsers(dest="command", required=True, title="commands")
    init = commands.add_parser(
        "init",
        help="create the bucket (or directory) and its lifecycle rules",
        description="S3: ensure the bucket, expire tmp/ after --tmp-days days, abort unfinished multipart "
        f"uploads after {ABORT_AFTER_DAYS} day. Local: create the storage directory.",
    )
    init.add_argument(
        "--tmp-days",
        type=_days,
        default=DEFAULT_TMP_DAYS,
        metavar="N",
        help=f"days draft uploads under tmp/ are kept (default {DEFAULT_TMP_DAYS})",
    )
    return parser


def _days(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number of days: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1 day, got {value}")
    return value


def main(argv: Sequence[str]) -> int:
    args = _parser().parse_args(list(argv))
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"configuration error:\n{exc}", file=sys.stderr)
        return 2
    if settings.storage_backend == "local":
        return _init_local(settings)
    return asyncio.run(_init_s3(settings, args.tmp_days))


def _init_local(settings: Settings) -> int:
    root = settings.storage_root.resolve()
    existed = root.is_dir()
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        print(f"STORAGE_DIR: cannot create {root}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    print(f"local storage at {root}: {'already there' if existed else 'created'}")
    print(
        "local storage has no lifecycle rules: the worker's temp cleanup sweeps draft uploads under tmp/ "
        "itself (kept 7 days); --tmp-days applies to S3 buckets only"
    )
    if settings.public_url:
        print(f"signed links to its files are served at {settings.public_url}/files/")
    else:
        print("no PUBLIC_URL: local storage makes no links, so fal.ai gets files by upload")
    return 0


async def _init_s3(settings: Settings, tmp_days: int) -> int:
    bucket, key_id, secret = settings.s3_bucket, settings.s3_access_key_id, settings.s3_secret_access_key
    if bucket is None or key_id is None or secret is None:  # load_settings already refuses this
        print(
            "S3_BUCKET, S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY: required when STORAGE_BACKEND=s3",
            file=sys.stderr,
        )
        return 2
    endpoint = _shown_endpoint(settings.s3_endpoint_url)
    storage = S3Storage(
        settings.s3_endpoint_url,
        bucket,
        key_id,
        secret.get_secret_value(),
        settings.s3_region,
        connect_timeout=5.0,
        read_timeout=20.0,
        max_attempts=2,
    )
    try:
        async with storage:
            await storage.ensure_bucket()
            print(f"bucket s3://{bucket} at {endpoint}: ready")
            await storage.expire_prefix("tmp/", tmp_days)
            print(f"rule expire:tmp/: objects under tmp/ are deleted {_plural(tmp_days, 'day')} after upload")
            await storage.abort_incomplete_uploads(ABORT_AFTER_DAYS)
            print(
                f"rule {ABORT_RULE_ID}: unfinished multipart uploads are aborted after "
                f"{_plural(ABORT_AFTER_DAYS, 'day')}"
            )
            rules = await storage.lifecycle_rules()
    except StorageError as exc:
        print(_explain(exc, bucket, endpoint), file=sys.stderr)
        return 1
    print(f"lifecycle rules of s3://{bucket} now:")
    for rule in rules:
        print(f"  {_describe(rule)}")
    return 0


def _explain(exc: StorageError, bucket: str, endpoint: str) -> str:
    """One line naming the variable to fix; ``exc`` already keeps secrets out of its text."""
    if exc.status == 0:
        return f"S3_ENDPOINT_URL: cannot reach {endpoint} ({exc.code or 'network error'}): {exc.detail}"
    if exc.code in _CREDENTIAL_CODES:
        return (
            f"S3_ACCESS_KEY_ID / S3_SECRET_ACCESS_KEY: {endpoint} refused them for bucket {bucket!r} "
            f"({exc.code}, HTTP {exc.status}): check the key pair and its permissions on the bucket"
        )
    if exc.code in _BUCKET_CODES:
        return f"S3_BUCKET: {endpoint} cannot use bucket {bucket!r} ({exc.code}): {exc.detail}"
    return f"S3_ENDPOINT_URL / S3_BUCKET: {exc.detail}"


def _shown_endpoint(url: str | None) -> str:
    """The endpoint without any user:password part, which must not be printed."""
    if url is None:
        return "AWS S3"
    parts = urlsplit(url)
    host = parts.hostname or ""
    return f"{parts.scheme}://{host}{f':{parts.port}' if parts.port else ''}"


def _describe(rule: LifecycleRuleTypeDef) -> str:
    where = rule.get("Filter")
    prefix = (where.get("Prefix") if where is not None else None) or rule.get("Prefix") or ""
    scope = f"prefix {prefix}" if prefix else "whole bucket"
    actions = []
    if "Expiration" in rule and "Days" in rule["Expiration"]:
        actions.append(f"delete objects after {_plural(rule['Expiration']['Days'], 'day')}")
    if "AbortIncompleteMultipartUpload" in rule:
        days = rule["AbortIncompleteMultipartUpload"].get("DaysAfterInitiation", 0)
        actions.append(f"abort unfinished multipart uploads after {_plural(days, 'day')}")
    return f"{rule.get('ID', '(no id)')} [{rule.get('Status', '?')}] {scope}: {'; '.join(actions) or 'other'}"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"
