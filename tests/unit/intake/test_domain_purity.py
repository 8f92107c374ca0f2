import ast
from pathlib import Path

import intake.domain

FORBIDDEN = ("nameko", "sqlalchemy", "eventlet", "kombu", "minio", "psycopg2")


def test_the_intake_domain_imports_neither_nameko_nor_sqlalchemy_nor_any_io_library():
    root = Path(intake.domain.__file__).parent
    for path in root.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] not in FORBIDDEN, f"{path.name} imports {name}"
