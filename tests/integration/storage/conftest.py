"""A moto S3 server for the session and a fresh, empty bucket for every test."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from app.services.storage.s3 import S3Storage
from tests.support.s3 import TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY


@pytest.fixture
async def s3_storage(s3_endpoint: str) -> AsyncIterator[S3Storage]:
    """An open S3Storage on a bucket of its own, created for this test."""
    bucket = f"test-{uuid.uuid4().hex[:20]}"
    async with S3Storage(
        s3_endpoint, bucket, TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY, read_timeout=10, max_attempts=1
    ) as storage:
        await storage.ensure_bucket()
        yield storage
