"""``python -m app storage init`` as an operator runs it: against a real S3 API (moto), and when it fails."""

from __future__ import annotations

import asyncio
import socket
import threading
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from aiobotocore.session import get_session

from app.cli.storage import main
from app.config import Settings
from tests.support.s3 import TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Run:
    """Runs the command with just the given variables (no .env, nothing from this machine's environment)."""
    for field in Settings.model_fields:
        monkeypatch.delenv(field.upper(), raising=False)
    monkeypatch.chdir(tmp_path)

    def run_(*argv: str, **env: str) -> tuple[int, str, str]:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        capsys.readouterr()
        code = main(["init", *argv])
        out, err = capsys.readouterr()
        assert TEST_SECRET_ACCESS_KEY not in out + err
        return code, out, err

    return run_


def s3_env(endpoint: str, bucket: str) -> dict[str, str]:
    return {
        "STORAGE_BACKEND": "s3",
        "S3_ENDPOINT_URL": endpoint,
        "S3_BUCKET": bucket,
        "S3_ACCESS_KEY_ID": TEST_ACCESS_KEY_ID,
        "S3_SECRET_ACCESS_KEY": TEST_SECRET_ACCESS_KEY,
        "S3_REGION": "auto",
    }


@pytest.fixture
def bucket() -> str:
    return f"init-{uuid.uuid4().hex[:16]}"


@pytest.fixture
async def raw_s3(s3_endpoint: str) -> AsyncIterator[S3Client]:
    async with get_session().create_client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name="auto",
        aws_access_key_id=TEST_ACCESS_KEY_ID,
        aws_secret_access_key=TEST_SECRET_ACCESS_KEY,
    ) as client:
        yield client


def by_id(rules: list[dict[str, object]]) -> dict[str, dict[str, object]]:
    return {str(rule["ID"]): rule for rule in rules}


def test_init_creates_the_bucket_and_its_rules_and_says_so(run: Run, s3_endpoint: str, bucket: str) -> None:
    code, out, err = run(**s3_env(s3_endpoint, bucket))

    assert (code, err) == (0, "")
    assert f"bucket s3://{bucket} at {s3_endpoint}: ready" in out
    assert "objects under tmp/ are deleted 7 days after upload" in out
    assert "unfinished multipart uploads are aborted after 1 day" in out
    rules_listed = out.split(f"lifecycle rules of s3://{bucket} now:\n", 1)[1].splitlines()
    assert sorted(rules_listed) == [
        "  abort-incomplete-multipart [Enabled] whole bucket: abort unfinished multipart uploads after 1 day",
        "  expire:tmp/ [Enabled] prefix tmp/: delete objects after 7 days",
    ]


async def test_the_rules_are_in_the_bucket_and_a_rerun_replaces_ours_only(
    run: Run, s3_endpoint: str, bucket: str, raw_s3: S3Client
) -> None:
    # The command runs its own event loop, as from a shell: give it a thread.
    assert (await asyncio.to_thread(run, **s3_env(s3_endpoint, bucket)))[0] == 0
    rules = (await raw_s3.get_bucket_lifecycle_configuration(Bucket=bucket))["Rules"]
    await raw_s3.put_bucket_lifecycle_configuration(
        Bucket=bucket,
        LifecycleConfiguration={
            "Rules": [
                *rules,
                {
                    "ID": "operator",
                    "Status": "Enabled",
                    "Filter": {"Prefix": "exports/"},
                    "Expiration": {"Days": 30},
                },
            ]
        },
    )

    code, out, _ = await asyncio.to_thread(run, "--tmp-days", "3")

    assert code == 0
    assert "prefix tmp/: delete objects after 3 days" in out
    assert "operator [Enabled] prefix exports/: delete objects after 30 days" in out
    stored = by_id((await raw_s3.get_bucket_lifecycle_configuration(Bucket=bucket))["Rules"])  # type: ignore[arg-type]
    assert sorted(stored) == ["abort-incomplete-multipart", "expire:tmp/", "operator"]
    assert stored["expire:tmp/"]["Expiration"] == {"Days": 3}
    assert stored["expire:tmp/"]["Filter"] == {"Prefix": "tmp/"}
    assert stored["abort-incomplete-multipart"]["AbortIncompleteMultipartUpload"] == {
        "DaysAfterInitiation": 1
    }


@pytest.mark.parametrize("days", ["0", "-2", "week"])
def test_a_bad_tmp_days_is_refused_before_anything_happens(
    run: Run, days: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        run("--tmp-days", days, STORAGE_BACKEND="s3")

    assert exited.value.code == 2
    assert "--tmp-days" in capsys.readouterr().err


def test_an_unreachable_endpoint_is_one_line_naming_the_variable(run: Run, bucket: str) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused at once
        endpoint = f"http://127.0.0.1:{closed.getsockname()[1]}"
        code, out, err = run(**s3_env(endpoint, bucket))

    assert code == 1
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert err.startswith(f"S3_ENDPOINT_URL: cannot reach {endpoint}")


class _RefusingS3(BaseHTTPRequestHandler):
    """Answers like R2 does to a key pair it does not know."""

    def _refuse(self) -> None:
        body = (
            b""
            if self.command == "HEAD"
            else (
                b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>InvalidAccessKeyId</Code>'
                b"<Message>The AWS Access Key Id you provided does not exist in our records.</Message>"
                b"</Error>"
            )
        )
        self.send_response(403)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_HEAD = do_GET = do_PUT = _refuse  # noqa: N815  (http.server's naming)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def refusing_s3() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _RefusingS3)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_rejected_credentials_are_one_line_naming_the_key_variables(
    run: Run, refusing_s3: str, bucket: str
) -> None:
    code, out, err = run(**s3_env(refusing_s3, bucket))

    assert code == 1
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert err.startswith("S3_ACCESS_KEY_ID / S3_SECRET_ACCESS_KEY: ")
    assert "HTTP 403" in err


def test_a_bucket_name_the_store_refuses_names_s3_bucket(run: Run, s3_endpoint: str) -> None:
    code, _, err = run(**s3_env(s3_endpoint, "ab"))  # S3 bucket names have 3–63 characters

    assert code == 1
    assert err.startswith("S3_BUCKET: ")
    assert "InvalidBucketName" in err


def test_missing_s3_settings_are_a_configuration_error(run: Run, s3_endpoint: str) -> None:
    code, out, err = run(STORAGE_BACKEND="s3", S3_ENDPOINT_URL=s3_endpoint)

    assert code == 2
    assert "S3_BUCKET" in err
    assert out == ""


def test_local_storage_gets_its_directory_and_is_told_about_the_sweep(run: Run, tmp_path: Path) -> None:
    code, out, err = run(STORAGE_BACKEND="local", STORAGE_DIR=str(tmp_path / "media"))

    assert (code, err) == (0, "")
    assert (tmp_path / "media").is_dir()
    assert f"local storage at {tmp_path / 'media'}: created" in out
    assert "sweeps draft uploads under tmp/" in out

    code, out, _ = run(PUBLIC_URL="https://bot.example.com")
    assert code == 0
    assert "already there" in out
    assert "signed links to its files are served at https://bot.example.com/files/" in out


def test_a_local_directory_that_cannot_be_made_names_storage_dir(run: Run, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a folder")

    code, _, err = run(STORAGE_BACKEND="local", STORAGE_DIR=str(tmp_path / "file" / "media"))

    assert code == 1
    assert err.startswith("STORAGE_DIR: cannot create")
