"""requirements.txt installs the CPU build of torch 2.13.0 on Streamlit Community Cloud (Linux x86_64,
Python 3.12 and 3.13) with no hand edit, and the plain pin everywhere else: its PEP 508 markers are
evaluated here for each environment, and the wheel names are checked against the CPU wheels' naming."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name, parse_wheel_filename

ROOT = Path(__file__).resolve().parents[2]


def requirements() -> list[Requirement]:
    out = []
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith(("#", "-")):
            out.append(Requirement(line))
    return out


def environment(python: str, system: str = "linux", machine: str = "x86_64") -> dict:
    return {"python_version": python, "python_full_version": f"{python}.1", "sys_platform": system,
            "platform_system": {"linux": "Linux", "darwin": "Darwin", "win32": "Windows"}[system],
            "platform_machine": machine, "os_name": "nt" if system == "win32" else "posix",
            "implementation_name": "cpython", "platform_python_implementation": "CPython"}


def chosen(env: dict) -> dict[str, Requirement]:
    """What pip would install in ``env``: each name's requirement whose marker holds (exactly one)."""
    picked: dict[str, list[Requirement]] = {}
    for req in requirements():
        if req.marker is None or req.marker.evaluate(env):
            picked.setdefault(canonicalize_name(req.name), []).append(req)
    assert all(len(v) == 1 for v in picked.values()), {k: [str(r) for r in v] for k, v in picked.items() if len(v) > 1}
    return {k: v[0] for k, v in picked.items()}


@pytest.mark.parametrize("python", ["3.12", "3.13"])
def test_community_cloud_gets_the_cpu_wheel_for_its_python(python):
    torch = chosen(environment(python))["torch"]
    assert torch.url, str(torch)
    name, version, _, tags = parse_wheel_filename(unquote(urlsplit(torch.url).path.rsplit("/", 1)[1]))
    assert name == "torch" and str(version) == "2.13.0+cpu"
    tag = f"cp{python.replace('.', '')}"
    assert {(t.interpreter, t.abi, t.platform) for t in tags} == {(tag, tag, "manylinux_2_28_x86_64")}
    assert urlsplit(torch.url).netloc == "download.pytorch.org" and "/whl/cpu/" in torch.url


def test_the_cpu_wheel_names_follow_this_machines_cpu_wheel():
    """This machine's CPU wheel (cp311) has the same form: only the Python tag differs."""
    local = parse_wheel_filename("torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl")
    for python in ("3.12", "3.13"):
        url = chosen(environment(python))["torch"].url
        theirs = parse_wheel_filename(unquote(url.rsplit("/", 1)[1]))
        assert theirs[1] == local[1] and {t.platform for t in theirs[3]} == {t.platform for t in local[3]}


@pytest.mark.parametrize("env", [environment("3.11"), environment("3.14"), environment("3.12", "darwin", "arm64"),
                                 environment("3.12", "win32", "AMD64"), environment("3.12", "linux", "aarch64")])
def test_everywhere_else_the_plain_pin(env):
    torch = chosen(env)["torch"]
    assert torch.url is None and str(torch.specifier) == "==2.13.0"


def test_every_other_package_is_pinned_the_same_everywhere():
    for env in (environment("3.11"), environment("3.12"), environment("3.13")):
        others = {k: str(r) for k, r in chosen(env).items() if k != "torch"}
        assert others == {k: str(r) for k, r in chosen(environment("3.11")).items() if k != "torch"}
        assert all("==" in r for r in others.values())


def test_pip_resolves_the_file_on_this_machine():
    """`pip install --dry-run -r requirements.txt` here: the plain pin finds this machine's CPU wheel."""
    proc = subprocess.run([sys.executable, "-m", "pip", "install", "--dry-run", "--quiet", "--report", "-",
                           "-r", str(ROOT / "requirements.txt")], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
