"""evaluation.output.emit_json: the figures on stdout and, when asked, the same text in a file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evaluation.output import emit_json


def test_emit_json_prints_and_writes_the_same_text_into_a_new_folder(tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "not" / "yet" / "there.json"
    text = emit_json({"案由": "盗窃罪", "n": 1}, out)
    assert capsys.readouterr().out == text + "\n"
    assert out.read_text(encoding="utf-8") == text + "\n"
    data = json.loads(text)
    assert "盗窃罪" in text and {k: data[k] for k in ("案由", "n")} == {"案由": "盗窃罪", "n": 1}
    about = data["about"]  # a written report says where it came from
    assert len(about["commit"]) == 40 and about["date"].startswith("20") and about["machine"]["cpus"] >= 1
    assert about["command"]
    printed = emit_json({"案由": "盗窃罪"}, None, ensure_ascii=True)  # nothing written without a path
    assert "\\u76d7" in printed and "about" not in json.loads(printed)
