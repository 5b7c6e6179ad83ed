"""The documentation's Python examples run (from the repository folder), so the docs do not rot."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)


def _blocks(page: str) -> list[str]:
    return BLOCK.findall((ROOT / page).read_text(encoding="utf-8"))


@pytest.mark.parametrize("page", ["docs/api.md"])
def test_python_examples_run(page: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = _blocks(page)
    assert blocks, f"{page} has no python example"
    monkeypatch.chdir(ROOT)
    for i, code in enumerate(blocks):
        code = code.replace('"runs/', f'"{tmp_path}/')  # write under tmp, not into the checkout
        exec(compile(code, f"{page}[{i}]", "exec"), {})  # running our own docs is the point
    assert (tmp_path / "api-example" / "summary.json").is_file()
