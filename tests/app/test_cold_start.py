"""A cold server sends its early chart before PyTorch is imported (ui._fetch_chart_code_early).

That only works if every page imports ``ui`` before anything that imports torch (``core``, ``torch``).
The browser side is tests/e2e/test_cloud_settings.py; the time saved is bench/bench_cold_start.py's.
"""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py"))]


def _imported(node: ast.stmt) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom):
        return [node.module or ""]
    return []


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.name)
def test_the_page_imports_ui_before_torch(path):
    order = [name for node in ast.parse(path.read_text()).body for name in _imported(node)]
    assert "ui" in order, f"{path.name} does not import ui"
    heavy = [i for i, name in enumerate(order) if name.split(".")[0] in ("core", "torch", "classroom")]
    assert not heavy or order.index("ui") < heavy[0], (
        f"{path.name} imports {order[heavy[0]]} before ui: on a cold server the early chart would wait for torch")
