"""The object-store adapter through the real MinIO client against the local S3-compatible server."""
import hashlib
import uuid

import pytest
import requests

from grassroots.errors import NotFound, ValidationFailed
from grassroots.storage import ObjectStore

PDF = b"%PDF-1.7\n" + b"x" * 2000 + b"\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 100


@pytest.fixture
def store(s3_server):
    cfg = dict(s3_server, S3_BUCKET=f"st-{uuid.uuid4().hex[:8]}")
    st = ObjectStore.from_config(cfg)
    st.ensure_bucket()
    return st


def upload(store, key, data):
    resp = requests.put(store.presigned_put(key, 60), data=data, timeout=10)
    resp.raise_for_status()


def test_a_presigned_upload_is_verified_by_content_size_and_checksum(store):
    upload(store, "a/scan.pdf", PDF)
    info = store.verify("a/scan.pdf", sha256=hashlib.sha256(PDF).hexdigest(), max_size=10_000)
    assert info.kind == "pdf" and info.size == len(PDF) and info.version_id
    got = requests.get(store.presigned_get("a/scan.pdf", 60, filename="申报表.pdf"), timeout=10)
    assert got.content == PDF


def test_a_read_back_upload_gives_its_connection_back_to_the_pool_open(store, monkeypatch):
    """urllib3 closes the connection when a response is closed: verifying an upload must release the response
    read to the end instead, so that against MinIO, which keeps connections alive, the next request reuses it
    (moto's server closes every connection itself, so the test watches the client)."""
    from urllib3.response import HTTPResponse
    digest = hashlib.sha256(PDF).hexdigest()
    upload(store, "k/1.pdf", PDF)
    closed, released = [], []
    close, release = HTTPResponse.close, HTTPResponse.release_conn
    monkeypatch.setattr(HTTPResponse, "close", lambda self: (closed.append(self), close(self))[1])
    monkeypatch.setattr(HTTPResponse, "release_conn", lambda self: (released.append(self), release(self))[1])
    assert store.verify("k/1.pdf", sha256=digest, max_size=10_000).kind == "pdf"
    with pytest.raises(ValidationFailed):   # a rejected file is read to the end as well
        store.verify("k/1.pdf", sha256="0" * 64, max_size=10_000)
    assert closed == [] and len(released) >= 2

    def cut_off(self, amt):
        yield PDF[:10]
        raise ConnectionResetError("the body stopped half-way")
    monkeypatch.setattr(HTTPResponse, "stream", cut_off)
    with pytest.raises(ConnectionResetError):   # read in part: that connection is closed, not reused
        store.verify("k/1.pdf", sha256=digest, max_size=10_000)
    assert len(closed) == 1


def test_a_file_whose_checksum_differs_from_the_declared_one_is_rejected(store):
    upload(store, "a/x.pdf", PDF)
    with pytest.raises(ValidationFailed) as exc:
        store.verify("a/x.pdf", sha256="0" * 64, max_size=10_000)
    assert [p["code"] for p in exc.value.details] == ["checksum_mismatch"]


def test_a_renamed_executable_is_rejected_by_its_magic_bytes(store):
    data = b"MZ\x90\x00" + b"\0" * 100
    upload(store, "a/evil.pdf", data)
    with pytest.raises(ValidationFailed) as exc:
        store.verify("a/evil.pdf", sha256=hashlib.sha256(data).hexdigest(), max_size=10_000)
    assert "type_not_allowed" in [p["code"] for p in exc.value.details]


def test_a_type_not_allowed_for_the_document_kind_is_rejected(store):
    upload(store, "a/photo.png", PNG)
    with pytest.raises(ValidationFailed):
        store.verify("a/photo.png", sha256=hashlib.sha256(PNG).hexdigest(), max_size=10_000, allowed=("pdf",))
    assert store.verify("a/photo.png", sha256=hashlib.sha256(PNG).hexdigest(), max_size=10_000).kind == "png"


def test_a_file_over_the_size_limit_is_rejected_without_reading_it(store):
    upload(store, "a/big.pdf", PDF)
    with pytest.raises(ValidationFailed) as exc:
        store.verify("a/big.pdf", sha256=hashlib.sha256(PDF).hexdigest(), max_size=100)
    assert [p["code"] for p in exc.value.details] == ["too_large"]


def test_a_missing_object_is_reported_as_not_found(store):
    with pytest.raises(NotFound):
        store.verify("nothing/here.pdf", sha256="0" * 64, max_size=100)


def test_versions_are_kept_when_a_document_is_uploaded_again(store):
    upload(store, "a/v.pdf", PDF)
    first = store.verify("a/v.pdf", sha256=hashlib.sha256(PDF).hexdigest(), max_size=10_000)
    second_data = PDF + b"v2"
    upload(store, "a/v.pdf", second_data)
    second = store.verify("a/v.pdf", sha256=hashlib.sha256(second_data).hexdigest(), max_size=10_000)
    assert first.version_id != second.version_id
    old = requests.get(store.presigned_get("a/v.pdf", 60, version_id=first.version_id), timeout=10)
    assert old.content == PDF


def test_presigned_urls_use_the_public_host_and_scheme_browsers_reach(s3_server):
    cfg = dict(s3_server, S3_BUCKET="docs-bucket", S3_PUBLIC_ENDPOINT="files.example.cn", S3_PUBLIC_SECURE=True)
    url = ObjectStore.from_config(cfg).presigned_get("a/b.pdf", 60)
    assert url.startswith("https://files.example.cn/docs-bucket/a/b.pdf?")
