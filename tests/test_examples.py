"""The examples stay true: workflows parse and use only real options; the model is as built."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest
import yaml

from pytest_latency_sla.settings import OPTIONS

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((ROOT / "examples" / "ci").glob("*.yml"))


def test_there_are_workflows() -> None:
    assert {p.name for p in WORKFLOWS} == {
        "sla-baseline.yml",
        "sla-pull-request.yml",
        "sla-shards.yml",
        "sla-side-by-side.yml",
    }


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_parses_and_uses_real_options(path: Path) -> None:
    workflow = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert workflow["jobs"]
    used = set(re.findall(r"--sla-[a-z-]+", path.read_text(encoding="utf-8")))
    assert used
    assert used <= {option.cli for option in OPTIONS}


def test_funnel_model_is_what_its_script_builds() -> None:
    spec = importlib.util.spec_from_file_location(
        "make_funnel", ROOT / "examples" / "funnel" / "make_funnel.py"
    )
    assert spec is not None
    assert spec.loader is not None
    make_funnel = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_funnel)
    model = make_funnel.build_funnel()
    assert make_funnel.parameter_count(model) == 48
    committed = (ROOT / "examples" / "funnel" / "funnel.onnx").read_bytes()
    assert model.SerializeToString() == committed
