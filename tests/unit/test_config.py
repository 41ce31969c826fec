"""Config.from_env: flags, then the environment, then <root>/daemon.json (dockerd's keys)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from skiff.config import Config
from skiff.errors import InvalidArgument


def test_insecure_registries_from_env_then_daemon_json(monkeypatch, tmp_path):
    monkeypatch.delenv("SKIFF_INSECURE_REGISTRIES", raising=False)
    assert Config.from_env(tmp_path).insecure_registries == ()
    (tmp_path / "daemon.json").write_text(
        '{"insecure-registries": ["reg.lan:5000", "10.1.0.0/16"], "userns-remap": ""}')
    assert Config.from_env(tmp_path).insecure_registries == ("reg.lan:5000", "10.1.0.0/16")
    monkeypatch.setenv("SKIFF_INSECURE_REGISTRIES", "a.example,b.example:443")
    assert Config.from_env(tmp_path).insecure_registries == ("a.example", "b.example:443")
    monkeypatch.delenv("SKIFF_INSECURE_REGISTRIES")
    (tmp_path / "daemon.json").write_text('{"insecure-registries": "reg.lan"}')
    with pytest.raises(InvalidArgument, match='"insecure-registries" must be a list of strings'):
        Config.from_env(tmp_path)


# runperf4: the root as text (no pathlib on run's path), Path on demand


@pytest.mark.parametrize("given, text", [
    ("/srv/skiff", "/srv/skiff"), ("/srv//skiff/", "/srv/skiff"), ("/srv/./skiff", "/srv/skiff"),
    ("/srv/../skiff", "/srv/../skiff"), ("//srv", "//srv"), ("///srv", "/srv"), ("/", "/"),
])
def test_root_dir_is_the_paths_text(given, text, monkeypatch):
    monkeypatch.setenv("SKIFF_ROOT", given)
    c = Config.from_env()
    assert c.root_dir == text == str(Path(given).absolute())
    assert c.root == Path(text)
    assert c.at("containers", "abc") == str(c.containers_dir / "abc")
    assert c.at("metadata.db") == str(c.metadata_path)
    assert Config(root=Path(given)) == Config(root=given) == Config(root=text)


def test_relative_root_is_made_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    c = Config.from_env(root="./store/")
    assert c.root_dir == str(tmp_path / "store")
    assert c.root == tmp_path / "store"


def test_config_and_run_path_modules_import_no_pathlib(tmp_path):
    code = (
        "import sys, os\n"
        "from skiff.config import Config\n"
        "from skiff.runtime import containers, monitor, mounts, spec, options, etcfiles, users\n"
        "from skiff.runtime import seccomp, runc, cgroups, fsutil\n"
        "from skiff.snapshots import overlay\n"
        "from skiff.cli import container, context\n"
        f"root = {str(tmp_path)!r}\n"
        "c = Config.from_env(root=root)\n"
        "os.makedirs(os.path.join(root, 'rootfs', 'etc'))\n"
        "with open(os.path.join(root, 'rootfs', 'etc', 'passwd'), 'w') as f:\n"
        "    f.write('root:x:0:0:root:/root:/bin/sh\\n')\n"
        "u = users.resolve(os.path.join(root, 'rootfs'), 'root')\n"
        "m = etcfiles.write(c.at('containers', 'x'), 'h', network='none')\n"
        "s = runc.state_root(c.root_dir)\n"
        "print('pathlib' in sys.modules)\n"
        "print(u.home, len(m), s == runc.state_root(c.root))\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert r.stdout.split("\n") == ["False", "/root 3 True", ""]
