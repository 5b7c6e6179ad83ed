"""Hostile inputs: malformed and extreme scenario and map files get a one-line error, never a
traceback or a hang.

Property (Hypothesis): for any generated input, the loader either returns a valid result or
raises :class:`avzone.ScenarioError` / :class:`avzone.MapError` whose message is one line —
never another exception. Inputs: a valid scenario with one value replaced by a hostile one
(wrong types, NaN/inf, huge numbers, unicode, empty or deeply nested containers) or a key added
or removed; raw YAML texts (deep nesting, ``!!python/object`` and other tags, alias bombs,
non-UTF-8 bytes, duplicate keys); GeoJSON map files with hostile coordinates, properties and
structure (including empty graphs and zero-length roads). Hypothesis' per-example deadline
catches a hang.

By default each property runs ``HOSTILE_EXAMPLES`` (100) examples; the ``slow`` variants run
10,000 inputs in all (``pytest -m slow tests/test_hostile.py``; docs/faults.md records the
figure). Subprocess checks: ``avzone validate`` / ``run`` on hostile files exit 2 with one
stderr line and write nothing, and an audit hook shows a run reads only the files the user
named (and the libraries) and writes only under ``--out``.
"""

from __future__ import annotations

import atexit
import copy
import json
import math
import os
import reprlib
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tinyzone import CRS, X0, Y0, grid_map, scenario_dict

from avzone import MapError, ScenarioError
from avzone.roads import load_map
from avzone.runner import build_world
from avzone.scenario import load_scenario, parse_scenario

HOSTILE_EXAMPLES = int(os.environ.get("AVZONE_HOSTILE_EXAMPLES", "100"))
SLOW_EXAMPLES = 2500  # × 4 properties = 10,000 inputs
DEADLINE_MS = 2000

ROOT = Path(tempfile.mkdtemp(prefix="avzone-hostile-"))  # the generated files, removed at exit
atexit.register(shutil.rmtree, ROOT, ignore_errors=True)


def _base() -> dict[str, Any]:
    """A valid scenario with a service, sensors, zones and checks: many keys to break."""
    data = scenario_dict(grid_map(ROOT))
    data["map"] = {"file": "tiny.geojson"}
    data["road"]["rsu"]["sensors"] = {"range_m": 100, "rate_hz": 5, "service": "planning"}
    data["car"]["flows"]["control"] = {
        "rate_hz": 10,
        "size_bytes": 1200,
        "via": "uu",
        "service": "planning",
        "reply_bytes": 200,
        "deadline_ms": 50,
    }
    data["car"]["demand"] = {
        "zones": {
            "a": {"at_m": [0, 0], "radius_m": 300},
            "b": {"at_m": [1000, 0], "radius_m": 300},
        },
        "od": [{"from": "a", "to": "b"}],
    }
    data["cloud"]["services"] = {
        "planning": {"sites": ["edge"], "time": {"dist": "constant", "mean_ms": 2}}
    }
    data["cloud"]["outages"] = [{"site": "edge", "start_s": 10, "end_s": 20}]
    data["checks"] = ["vehicles.arrived >= 0"]
    data["faults"] = {
        "site": {
            "kind": "site_down",
            "target": {"sites": ["edge"]},
            "start_s": 5,
            "duration_s": 10,
        },
        "rsus": {"kind": "rsu_down", "target": {"area": [[0, -10], [900, -10], [900, 10]]}},
        "link": {
            "kind": "link_degraded",
            "target": {"links": [["cell-0", "edge"]]},
            "extra_delay_ms": 1,
            "loss": 0.1,
        },
        "flaky": {
            "kind": "cell_down",
            "target": {"share": 0.5},
            "random": {"mtbf_s": 10, "mttr_s": 1},
        },
        "gnss": {"kind": "gnss_degraded", "target": {"share": 0.3}, "error_m": 5},
    }
    return data


BASE = _base()


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


PATHS = _paths(BASE)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=10**300, max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([float("nan"), float("inf"), -float("inf"), 1e308, -1e308, 5e-324, -0.0, 0]),
    st.text(max_size=20),
    st.sampled_from(["", " ", "\n", "edge\nregional", "é", "💥", "\x00", "../../etc/passwd", "on"]),
)
hostile_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def _deep(depth: int, kind: str) -> Any:
    node: Any = 1
    for _ in range(depth):
        node = [node] if kind == "list" else {"a": node}
    return node


class Doc:
    """A generated document, shown shortened (a 3000-deep list breaks pretty printers)."""

    def __init__(self, data: Any) -> None:
        self.data = data

    def __repr__(self) -> str:
        shown = reprlib.Repr()
        shown.maxlevel, shown.maxlist, shown.maxdict = 8, 12, 12
        return shown.repr(self.data)


@st.composite
def mutated_scenarios(draw: st.DrawFn) -> Doc:
    data = copy.deepcopy(BASE)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(PATHS))
        *parents, last = path
        node: Any = data
        try:
            for key in parents:
                node = node[key]
            action = draw(st.sampled_from(["replace", "replace", "delete", "add", "deep"]))
            if action == "replace":
                node[last] = draw(hostile_values)
            elif action == "delete":
                del node[last]
            elif action == "deep":
                node[last] = _deep(
                    draw(st.integers(1, 3000)), draw(st.sampled_from(["list", "dict"]))
                )
            elif isinstance(node[last], dict):
                node[last][draw(st.text(max_size=10))] = draw(hostile_values)
            else:
                node[last] = draw(hostile_values)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation removed the way there
    return Doc(data)


YAML_SNIPPETS = [
    "!!python/object/apply:os.system ['touch /tmp/avzone-pwned']",
    "!!python/object/new:type [x, [], {}]",
    "!!python/name:os.system",
    "!!binary aGVsbG8=",
    "!!set {a, b}",
    "!!timestamp 2001-12-14",
    "!custom {a: 1}",
    "&a [*a]",
    ".nan",
    ".inf",
    "-.inf",
    "0x7fffffffffffffffffffffffffff",
    "1e999",
    "1_000_000_000_000_000_000_000",
    "? [a, b]\n: c",
    "{a: 1, a: 2}",
    "'unterminated",
    "[" * 200 + "]" * 200,
    "\t- tab",
    "%YAML 1.1\n---\n",
    "--- a\n--- b",
    "*undefined",
    "\ufeffname: bom",
    "!!timestamp 2001-13-45",
    "9" * 5000,
    "!!float 1e99999",
    "!!int 0b" + "1" * 20000,
]


def _alias_bomb(levels: int) -> str:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]")
    return "\n".join(lines)


@st.composite
def yaml_texts(draw: st.DrawFn) -> bytes:
    base = yaml.safe_dump(BASE, sort_keys=False).splitlines()
    kind = draw(st.sampled_from(["snippet", "bomb", "deep", "garbage", "splice"]))
    if kind == "snippet":
        text = draw(st.sampled_from(YAML_SNIPPETS))
        where = draw(st.sampled_from(["whole", "value", "top"]))
        if where == "value":
            key = draw(st.sampled_from(["duration_s", "seed", "name", "checks", "car", "map"]))
            lines = [f"{key}: {text}" if line.startswith(f"{key}:") else line for line in base]
            # a top-level key with a block below keeps its block only when the value is empty
            return "\n".join(lines).encode()
        if where == "top":
            return ("\n".join(base) + f"\nextra: {text}\n").encode()
        return text.encode()
    if kind == "bomb":
        key = draw(st.sampled_from(["checks", "extra", "car"]))
        levels = draw(st.integers(2, 9))
        return (
            _alias_bomb(levels) + "\n" + "\n".join(base) + f"\n{key}: *a{levels - 1}\n"
        ).encode()
    if kind == "deep":
        depth = draw(st.integers(50, 5000))
        opener, closer = draw(st.sampled_from([("[", "]"), ("{a: ", "}")]))
        return (f"duration_s: {opener * depth}1{closer * depth}\n").encode()
    if kind == "garbage":
        return draw(st.binary(max_size=200))
    lines = list(base)
    i = draw(st.integers(0, len(lines) - 1))
    lines[i] = lines[i][: draw(st.integers(0, len(lines[i])))] + draw(st.text(max_size=10))
    return "\n".join(lines).encode("utf-8", "surrogatepass")


def _one_line(exc: Exception) -> None:
    message = str(exc)
    assert "\n" not in message, message
    assert "\r" not in message, message
    assert message.strip(), type(exc)


def _parse_or_scenario_error(data: Any) -> None:
    try:
        parse_scenario(data, base_dir=ROOT)
    except ScenarioError as exc:
        _one_line(exc)


def _load_or_scenario_error(path: Path) -> None:
    try:
        load_scenario(path)
    except ScenarioError as exc:
        _one_line(exc)


def _hostile_settings(n: int) -> Callable[[Any], Any]:
    return settings(
        max_examples=n,
        deadline=DEADLINE_MS,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        database=None,
    )


# -- scenarios --------------------------------------------------------------------------------


def mutated_property(doc: Doc) -> None:
    _parse_or_scenario_error(doc.data)


def yaml_property(text: bytes) -> None:
    path = ROOT / "hostile.yaml"
    path.write_bytes(text)
    _load_or_scenario_error(path)


# -- maps -------------------------------------------------------------------------------------

coords = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(-2000, 2000).map(lambda v: X0 + v),
    st.sampled_from([X0, Y0, 1e308, -1e308, 0.0]),
    st.integers(-(10**30), 10**30),
    st.text(max_size=3),
    st.none(),
)
position = st.one_of(
    st.lists(coords, min_size=2, max_size=3),
    st.tuples(
        st.floats(0, 1000).map(lambda v: X0 + v), st.floats(0, 1000).map(lambda v: Y0 + v)
    ).map(list),
    st.just([X0, Y0]),
)
property_values = st.dictionaries(
    st.sampled_from(
        [
            "id",
            "road_class",
            "lanes",
            "speed_kph",
            "oneway",
            "highway",
            "maxspeed",
            "name",
            "signal",
            "traffic_signals",
        ]
    ),
    hostile_values,
    max_size=6,
)
feature = st.fixed_dictionaries(
    {
        "type": st.sampled_from(["Feature", "Feature", "Feature", "feature", "Point"]),
        "geometry": st.one_of(
            st.fixed_dictionaries(
                {
                    "type": st.sampled_from(
                        ["LineString", "MultiLineString", "Point", "Polygon", "nonsense"]
                    ),
                    "coordinates": st.one_of(
                        st.lists(position, max_size=5),
                        st.lists(st.lists(position, max_size=3), max_size=3),
                        position,
                        hostile_values,
                    ),
                }
            ),
            hostile_values,
        ),
        "properties": st.one_of(property_values, hostile_values),
    }
)
crs = st.one_of(
    st.just(CRS),
    st.none(),
    st.just({"type": "name", "properties": {"name": "EPSG:4326"}}),
    st.just({"type": "name", "properties": {"name": "EPSG:999999"}}),
    st.just({"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::2263"}}),
    hostile_values,
)


@st.composite
def map_documents(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["doc", "doc", "doc", "deep", "raw"]))
    if kind == "raw":
        return draw(
            st.sampled_from(
                [b"", b"{", b"NaN", b"[]", b"null", b"\xff\xfe", b'{"type": "FeatureCollection"}']
            )
        )
    if kind == "deep":
        depth = draw(st.integers(100, 100_000))
        return b'{"type": "FeatureCollection", "features": ' + b"[" * depth + b"]" * depth + b"}"
    doc: dict[str, Any] = {
        "type": draw(st.sampled_from(["FeatureCollection", "FeatureCollection", "Feature", 7])),
        "features": draw(st.one_of(st.lists(feature, max_size=6), hostile_values)),
    }
    if draw(st.booleans()):
        doc["crs"] = draw(crs)
    return json.dumps(doc, allow_nan=True).encode()


def map_property(text: bytes) -> None:
    path = ROOT / "hostile.geojson"
    path.write_bytes(text)
    try:
        load_map(path)
    except MapError as exc:
        _one_line(exc)


# -- the world: parsed scenarios that go on to be built -----------------------------------------


def world_property(doc: Doc) -> None:
    """Inputs that parse must also build (or fail with a one-line error): NaN positions, huge
    ranges, zero-length maps reach the placement and coverage code."""
    try:
        scenario = parse_scenario(doc.data, base_dir=ROOT)
    except ScenarioError:
        return
    try:
        build_world(scenario)
    except (ScenarioError, MapError) as exc:
        _one_line(exc)


PROPERTIES: list[tuple[str, Any, Callable[[Any], None]]] = [
    ("mutated", mutated_scenarios(), mutated_property),
    ("yaml", yaml_texts(), yaml_property),
    ("map", map_documents(), map_property),
    ("world", mutated_scenarios(), world_property),
]


@pytest.mark.parametrize(("name", "strategy", "check"), PROPERTIES, ids=[p[0] for p in PROPERTIES])
def test_hostile_inputs(name: str, strategy: Any, check: Callable[[Any], None]) -> None:
    examples = HOSTILE_EXAMPLES if name != "world" else max(1, HOSTILE_EXAMPLES // 6)
    _hostile_settings(examples)(given(strategy)(check))()


@pytest.mark.slow
@pytest.mark.parametrize(("name", "strategy", "check"), PROPERTIES, ids=[p[0] for p in PROPERTIES])
def test_hostile_inputs_10000(name: str, strategy: Any, check: Callable[[Any], None]) -> None:
    _hostile_settings(SLOW_EXAMPLES)(given(strategy)(check))()


# -- real commands ------------------------------------------------------------------------------


def _avzone(*argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "avzone", *argv],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("command", "text"),
    [
        ("run", "!!python/object/apply:os.system ['touch pwned']"),
        pytest.param("run", _alias_bomb(9) + "\nchecks: *a8\n", marks=pytest.mark.slow),
        pytest.param("validate", "duration_s: " + "[" * 5000 + "]" * 5000, marks=pytest.mark.slow),
        pytest.param("run", "duration_s: 10\nseed: " + "9" * 500 + "\n", marks=pytest.mark.slow),
        pytest.param("validate", '"bad\\nkey": 1\nduration_s: 10\n', marks=pytest.mark.slow),
    ],
    ids=["python-tag", "alias-bomb", "deep", "huge-int", "newline-key"],
)
def test_commands_answer_hostile_files_with_one_line_and_exit_2(
    tmp_path: Path, command: str, text: str
) -> None:
    (tmp_path / "bad.yaml").write_text(text)
    extra = ["--out", "out"] if command == "run" else []
    result = _avzone(command, "bad.yaml", *extra, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    assert result.stderr.startswith("avzone: error: bad.yaml: ")
    assert result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.yaml"]


AUDIT = r"""
import os, sys
events = []
recording = [True]
def hook(event, args):
    if not recording:
        return
    if event == "open":
        path, mode, flags = args
        if isinstance(path, (str, bytes, os.PathLike)):
            writing = (mode is not None and any(c in str(mode) for c in "wax+")) or (
                mode is None and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT))
            events.append(("write" if writing else "read", os.fsdecode(path)))
    elif event in ("os.rename", "os.replace"):
        events.append(("write", os.fsdecode(args[1])))
    elif event in ("os.remove", "os.mkdir", "os.rmdir", "os.chmod"):
        if isinstance(args[0], (str, bytes, os.PathLike)):
            events.append(("write", os.fsdecode(args[0])))
sys.addaudithook(hook)
from avzone.cli import main
code = main(sys.argv[1:])
recording.clear()  # stop: the log itself is the test's file
import json
with open(os.environ["AUDIT_LOG"], "w") as f:
    json.dump(events, f)
sys.exit(code)
"""


def test_a_run_reads_only_named_files_and_writes_only_under_out(tmp_path: Path) -> None:
    """Audit hook (PEP 578) on every open / rename / remove / mkdir of a real ``avzone run``:
    outside the Python installation and system folders, reads touch only the scenario and its
    map (in another folder), writes only ``--out`` — besides the caches of the package's own
    compiled code in its ``__pycache__`` folders (Python bytecode, numba's compiled kernels)."""
    maps = tmp_path / "maps"
    maps.mkdir()
    data = scenario_dict(grid_map(maps))
    data["map"] = {"file": "../maps/tiny.geojson"}
    work = tmp_path / "work"
    work.mkdir()
    (work / "s.yaml").write_text(yaml.safe_dump(data))
    log = tmp_path / "audit.json"
    env = {**os.environ, "AUDIT_LOG": str(log), "MPLBACKEND": "Agg"}
    result = subprocess.run(
        [sys.executable, "-c", AUDIT, "run", "s.yaml", "--out", str(tmp_path / "out"), "--quiet"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    events = json.loads(log.read_text())
    system = tuple(
        str(Path(p).resolve())
        for p in {
            sys.prefix,
            sys.base_prefix,
            sys.exec_prefix,
            "/usr",
            "/etc",
            "/proc",
            "/sys",
            "/dev",
            "/lib",
        }
    )
    package = str(Path(__file__).resolve().parents[1] / "avzone")
    reads = {
        str(Path(work, p).resolve())
        for kind, p in events
        if kind == "read"
        and not str(Path(work, p).resolve()).startswith((*system, package))
        and not Path(work, p).is_dir()
    }
    writes = {
        path
        for path in (str(Path(work, p).resolve()) for kind, p in events if kind == "write")
        if not (path.startswith(package + os.sep) and "__pycache__" in Path(path).parts)
    }
    out = str((tmp_path / "out").resolve())
    assert reads == {str(work / "s.yaml"), str(maps / "tiny.geojson")}
    assert writes
    assert all(w == out or w.startswith(out + os.sep) for w in writes), sorted(writes)


def test_nan_positions_are_rejected_at_parse_time() -> None:
    """Regression found by the hostile test: NaN/inf passed as coordinates."""
    data = copy.deepcopy(BASE)
    data["road"]["rsu"]["place"]["positions_m"] = [[math.nan, 0]]
    with pytest.raises(ScenarioError, match=r"road\.rsu\.place\.positions_m\[0\]: expected a pair"):
        parse_scenario(data, base_dir=ROOT)
