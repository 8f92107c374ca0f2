"""``make run``: start the whole suite locally and show it doing its job.

Every service runs as its own process (SQLite databases under var/local unless <SERVICE>_DATABASE_URL is
set; the S3-compatible server started here unless S3_ENDPOINT points at a real MinIO), the walking-skeleton
scenario runs through the gateway, then the suite keeps running until Ctrl-C.
"""
from __future__ import annotations

import os
import shutil
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import localsuite  # noqa: E402
import scenario  # noqa: E402


def main() -> int:
    root = localsuite.ROOT
    data = root / "var" / "local"
    if os.environ.get("KEEP_DATA") != "1" and data.exists():
        shutil.rmtree(data)
    port = int(os.environ.get("GATEWAY_PORT", "8000"))
    suite = localsuite.LocalSuite(data, os.environ.get("AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/"),
                                  gateway_port=port, s3_port=int(os.environ.get("S3_PORT", "9000")),
                                  extra_env={"LOG_FORMAT": os.environ.get("LOG_FORMAT", "json")})
    for what, p in (("网关", suite.gateway_port), ("对象存储", suite.s3_port)):
        if suite.port_in_use(p):
            print(f"端口 {p}（{what}）已被占用：可能已有一个 make run 在运行。请先停止它，"
                  f"或用 GATEWAY_PORT / S3_PORT 指定其他端口。", file=sys.stderr)
            return 2
    started = time.monotonic()
    try:
        print("▶ 启动对象存储（S3 兼容）、五个服务和网关……", flush=True)
        suite.start()
        print(f"  就绪，用时 {time.monotonic() - started:.1f} 秒；日志：{suite.log_dir}", flush=True)
        out = suite.admin("create-user", "--username", "admin", "--password", scenario.PASSWORD, "--role", "admin",
                          "--name", "系统管理员")
        if out.returncode != 0 and "username_taken" not in out.stderr:
            print(out.stderr, file=sys.stderr)
            return 1
        print("▶ 演示流程（全部经网关 HTTP 调用，服务之间经 RabbitMQ）：", flush=True)
        t0 = time.monotonic()
        scenario.run(suite.gateway_url, "admin", scenario.PASSWORD, say=lambda s: print(s, flush=True))
        print(f"✔ 演示完成，用时 {time.monotonic() - t0:.1f} 秒", flush=True)
        print(f"\n网关：{suite.gateway_url}/api/v1   OpenAPI：{suite.gateway_url}/api/v1/openapi.json", flush=True)
        print(f"管理员：admin / {scenario.PASSWORD}    按 Ctrl-C 停止全部进程。", flush=True)
        if os.environ.get("RUN_ONCE") == "1":
            return 0
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        return 0
    finally:
        print("■ 正在停止……", flush=True)
        suite.stop()


if __name__ == "__main__":
    # Ctrl-C (and SIGTERM) stop everything started here, even when launched from a shell that ignores SIGINT.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    sys.exit(main())
