"""Object storage for scanned documents, through the MinIO client (real MinIO or any S3-compatible server).

Clients upload straight to the store with a presigned PUT; before a document counts, the service calls
``verify`` which reads the object back and checks its size, its type by magic bytes and its SHA-256
(never trusting what the client or the store claims: moto, used locally, enforces no checksums).

Usage:
    store = ObjectStore.from_config(config); store.ensure_bucket()
    url = store.presigned_put("applications/a1/scan.pdf", expires_s=900)
    info = store.verify("applications/a1/scan.pdf", sha256=declared, max_size=20 << 20,
                        allowed=("pdf", "jpeg", "png"))
"""
from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from minio import Minio
from minio.commonconfig import ENABLED
from minio.error import S3Error
from minio.versioningconfig import VersioningConfig
from nameko.extensions import DependencyProvider

from .errors import NotFound, ValidationFailed

MAGIC = {
    "pdf": (b"%PDF-",),
    "jpeg": (b"\xff\xd8\xff",),
    "png": (b"\x89PNG\r\n\x1a\n",),
}
CONTENT_TYPES = {"pdf": "application/pdf", "jpeg": "image/jpeg", "png": "image/png"}
TYPE_NAMES = {"pdf": "PDF", "jpeg": "JPEG 图片", "png": "PNG 图片"}


def sniff(head: bytes) -> str | None:
    for kind, signatures in MAGIC.items():
        if any(head.startswith(sig) for sig in signatures):
            return kind
    return None


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    sha256: str
    kind: str
    content_type: str
    version_id: str | None
    etag: str | None


class ObjectStore:
    def __init__(self, endpoint: str, access_key: str, secret_key: str, bucket: str, secure: bool = False,
                 region: str = "us-east-1", public_endpoint: str | None = None, public_secure: bool | None = None):
        self.bucket = bucket
        self.client = Minio(endpoint, access_key=access_key, secret_key=secret_key, secure=secure,
                            region=region)
        self.endpoint = endpoint
        self.public_endpoint = public_endpoint or endpoint
        # A separate client signs URLs for the host browsers reach (the signature covers the host).
        public_secure = secure if public_secure is None else public_secure
        self.signer = (self.client if (self.public_endpoint, public_secure) == (endpoint, secure) else
                       Minio(self.public_endpoint, access_key=access_key, secret_key=secret_key,
                             secure=public_secure, region=region))

    @classmethod
    def from_config(cls, cfg: dict) -> "ObjectStore":
        return cls(cfg["S3_ENDPOINT"], cfg["S3_ACCESS_KEY"], cfg["S3_SECRET_KEY"], cfg["S3_BUCKET"],
                   bool(cfg.get("S3_SECURE")), cfg.get("S3_REGION", "us-east-1"), cfg.get("S3_PUBLIC_ENDPOINT"),
                   cfg.get("S3_PUBLIC_SECURE"))

    def ensure_bucket(self, versioning: bool = True):
        if not self.client.bucket_exists(self.bucket):
            try:
                self.client.make_bucket(self.bucket)
            except S3Error as exc:
                if exc.code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                    raise
        if versioning:
            self.client.set_bucket_versioning(self.bucket, VersioningConfig(ENABLED))

    def presigned_put(self, key: str, expires_s: int = 900) -> str:
        return self.signer.presigned_put_object(self.bucket, key, expires=dt.timedelta(seconds=expires_s))

    def presigned_get(self, key: str, expires_s: int = 300, version_id: str | None = None,
                      filename: str | None = None) -> str:
        headers = None
        if filename:
            from urllib.parse import quote
            headers = {"response-content-disposition": f"attachment; filename*=UTF-8''{quote(filename)}"}
        return self.signer.presigned_get_object(self.bucket, key, expires=dt.timedelta(seconds=expires_s),
                                                version_id=version_id, response_headers=headers)

    def stat(self, key: str, version_id: str | None = None):
        try:
            return self.client.stat_object(self.bucket, key, version_id=version_id)
        except S3Error as exc:
            if exc.code in ("NoSuchKey", "NoSuchVersion", "NoSuchObject"):
                raise NotFound("object_not_found", "未找到已上传的文件，请先上传再确认", {"key": key}) from exc
            raise

    def verify(self, key: str, *, sha256: str, max_size: int, allowed=("pdf", "jpeg", "png")) -> StoredObject:
        """Read the object back and check size, type by magic bytes and SHA-256; raise with every problem."""
        st = self.stat(key)
        problems = []
        if st.size > max_size:
            problems.append({"path": "size", "code": "too_large",
                             "message": f"文件大小 {st.size} 字节超过上限 {max_size} 字节"})
        if st.size == 0:
            problems.append({"path": "size", "code": "empty", "message": "文件为空"})
        if problems:
            raise ValidationFailed("document_rejected", "上传的文件未通过检查", problems)
        digest = hashlib.sha256()
        head = b""
        resp = self.client.get_object(self.bucket, key, version_id=st.version_id)
        try:
            for chunk in resp.stream(1 << 20):
                if len(head) < 16:
                    head += chunk[:16]
                digest.update(chunk)
        except BaseException:
            resp.close()   # read in part: the connection cannot serve another request
            raise
        finally:
            # Read to the end, the connection goes back to the client's pool for the next request (closing
            # the response would close it: a new TCP, or TLS, connection per confirmed upload).
            resp.release_conn()
        kind = sniff(head)
        if kind is None or kind not in allowed:
            names = "、".join(TYPE_NAMES[a] for a in allowed)
            problems.append({"path": "content", "code": "type_not_allowed",
                             "message": f"文件类型不符合要求，只接受 {names}（按文件内容识别，而非扩展名）"})
        actual = digest.hexdigest()
        if actual != (sha256 or "").lower():
            problems.append({"path": "sha256", "code": "checksum_mismatch",
                             "message": "文件的 SHA-256 校验值与申报值不一致，文件可能损坏或被替换，请重新上传"})
        if problems:
            raise ValidationFailed("document_rejected", "上传的文件未通过检查", problems)
        return StoredObject(key=key, size=st.size, sha256=actual, kind=kind, content_type=CONTENT_TYPES[kind],
                            version_id=st.version_id, etag=st.etag)

    def put_bytes(self, key: str, data: bytes, content_type: str = "application/octet-stream"):
        import io
        return self.client.put_object(self.bucket, key, io.BytesIO(data), len(data), content_type=content_type)


class Storage(DependencyProvider):
    """Injects the service's ``ObjectStore`` (bucket ensured at start-up)."""

    def setup(self):
        self.store = ObjectStore.from_config(self.container.config)

    def start(self):
        try:
            self.store.ensure_bucket()
        except Exception:  # noqa: BLE001 - the store may come up later; verify() will say so
            from .logging import get_logger
            get_logger(__name__).warning("object_store_unavailable_at_start", endpoint=self.store.endpoint)

    def get_dependency(self, worker_ctx):
        return self.store
