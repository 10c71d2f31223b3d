"""fal.ai: the queue API client the hosted models (OmniHuman, nano-banana…) are called through."""

from app.services.fal.queue import (
    DEFAULT_QUEUE_URL,
    DEFAULT_REST_URL,
    DEFAULT_UPLOAD_URL,
    FalQueueClient,
    FalRequest,
    FalStatus,
    new_http_client,
    run_failure,
)

__all__ = [
    "DEFAULT_QUEUE_URL",
    "DEFAULT_REST_URL",
    "DEFAULT_UPLOAD_URL",
    "FalQueueClient",
    "FalRequest",
    "FalStatus",
    "new_http_client",
    "run_failure",
]
