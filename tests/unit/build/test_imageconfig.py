"""Config mutations per instruction, as BuildKit's dockerfile2llb makes them."""

from __future__ import annotations

import pytest

from skiff.build import imageconfig as ic

T = "2026-01-01T00:00:00.000000Z"


def base() -> dict:
    return ic.from_base({
        "architecture": "amd64", "os": "linux", "created": "2020-01-01T00:00:00Z",
        "config": {"Env": ["PATH=/bin", "A=1"], "Cmd": ["sh"], "Labels": {"from": "base"}},
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + "a" * 64]},
        "history": [{"created_by": "base"}],
    })


def test_from_base_drops_created_and_keeps_path():
    img = base()
    assert "created" not in img
    assert img["config"]["Env"] == ["PATH=/bin", "A=1"]


def test_scratch_gets_default_path():
    img = ic.empty_image()
    assert img["config"]["Env"] == [f"PATH={ic.DEFAULT_PATH}"]
    assert img["rootfs"] == {"type": "layers", "diff_ids": []}


def test_env_replaces_in_place_and_appends():
    img = base()
    ic.set_env(img, [("A", "2"), ("NODE_ENV", "production")], T)
    assert img["config"]["Env"] == ["PATH=/bin", "A=2", "NODE_ENV=production"]
    assert img["history"][-1] == {"created": T, "created_by": "ENV A=2 NODE_ENV=production",
                                  "comment": "buildkit.dockerfile.v0", "empty_layer": True}


def test_label_adds_to_inherited():
    img = base()
    ic.set_labels(img, [("version", "1.0")], T)
    assert img["config"]["Labels"] == {"from": "base", "version": "1.0"}
    assert img["history"][-1]["created_by"] == "LABEL version=1.0"


def test_cmd_shell_form_and_args_escaped():
    img = base()
    ic.set_cmd(img, "node server.js", T)
    assert img["config"]["Cmd"] == ["/bin/sh", "-c", "node server.js"]
    assert img["config"]["ArgsEscaped"] is True
    assert img["history"][-1]["created_by"] == 'CMD ["/bin/sh" "-c" "node server.js"]'


def test_entrypoint_resets_inherited_cmd():
    img = base()
    ic.set_entrypoint(img, ["/bin/app"], T, cmd_set_in_stage=False)
    assert img["config"]["Entrypoint"] == ["/bin/app"]
    assert img["config"]["Cmd"] is None
    out = ic.finalize(img)
    assert "Cmd" not in out["config"]
    assert img["history"][-1]["created_by"] == 'ENTRYPOINT ["/bin/app"]'


def test_entrypoint_keeps_cmd_set_in_same_stage():
    img = base()
    ic.set_cmd(img, ["x"], T)
    ic.set_entrypoint(img, ["/bin/app"], T, cmd_set_in_stage=True)
    assert img["config"]["Cmd"] == ["x"]


def test_shell_changes_shell_form():
    img = base()
    ic.set_shell(img, ["/bin/bash", "-eu", "-c"], T)
    ic.set_cmd(img, "echo hi", T)
    assert img["config"]["Cmd"] == ["/bin/bash", "-eu", "-c", "echo hi"]
    assert img["history"][-2]["created_by"] == "SHELL [/bin/bash -eu -c]"


@pytest.mark.parametrize("cur,path,want", [
    ("/", "/app", "/app"), ("/app", "src", "/app/src"), ("/app", "../x/./y/", "/x/y"),
    ("", "rel", "/rel"), ("/a", "/", "/"),
])
def test_workdir_resolution(cur, path, want):
    assert ic.normalize_workdir(cur, path) == want


def test_workdir_history_and_layer_flag():
    img = base()
    wd, layer = ic.set_workdir(img, "/app", T)
    assert (wd, layer) == ("/app", True)
    assert img["config"]["WorkingDir"] == "/app"
    assert "empty_layer" not in img["history"][-1]
    _, layer = ic.set_workdir(img, "/", T)
    assert layer is False


def test_user_and_stopsignal():
    img = base()
    ic.set_user(img, "node", T)
    ic.set_stopsignal(img, "SIGQUIT", T)
    assert img["config"]["User"] == "node"
    assert img["config"]["StopSignal"] == "SIGQUIT"
    with pytest.raises(ValueError):
        ic.set_stopsignal(img, "SIGNOPE", T)


def test_expose_normalizes_ports():
    img = base()
    ic.set_expose(img, ["3000", "53/UDP", "8000-8001"], T)
    assert img["config"]["ExposedPorts"] == {"3000/tcp": {}, "53/udp": {}, "8000/tcp": {},
                                             "8001/tcp": {}}
    with pytest.raises(ValueError):
        ic.set_expose(img, ["80/xyz"], T)


def test_volumes():
    img = base()
    ic.set_volumes(img, ["/data", "/logs"], T)
    assert img["config"]["Volumes"] == {"/data": {}, "/logs": {}}
    assert img["history"][-1]["created_by"] == "VOLUME [/data /logs]"
    with pytest.raises(ValueError):
        ic.set_volumes(img, [""], T)


def test_healthcheck():
    img = base()
    ic.set_healthcheck(img, {"Test": ["CMD-SHELL", "true"], "Interval": 30 * 10**9,
                             "Retries": 3}, T)
    assert img["config"]["Healthcheck"] == {"Test": ["CMD-SHELL", "true"],
                                            "Interval": 30 * 10**9, "Retries": 3}
    assert img["history"][-1]["created_by"] == (
        'HEALTHCHECK {Test:["CMD-SHELL" "true"] Interval:30s Timeout:0s StartPeriod:0s '
        'StartInterval:0s Retries:3}')


def test_go_duration():
    from skiff.dockerfile.gotext import format_go_duration

    assert format_go_duration(90 * 10**9) == "1m30s"
    assert format_go_duration(1_500_000_000) == "1.5s"
    assert format_go_duration(3600 * 10**9) == "1h0m0s"


def test_onbuild_adds_no_history():
    img = base()
    n = len(img["history"])
    ic.add_onbuild(img, "RUN echo hi")
    assert img["config"]["OnBuild"] == ["RUN echo hi"]
    assert len(img["history"]) == n


def test_run_created_by_with_args():
    assert ic.run_created_by(["/bin/sh", "-c", "make"], [("A", "1"), ("B", "x y")]) == \
        "RUN |2 A=1 B=x y /bin/sh -c make # buildkit"
    assert ic.run_created_by(["/bin/sh", "-c", "make"], []) == "RUN /bin/sh -c make # buildkit"


def test_finalize_labels_and_created():
    img = base()
    ic.set_env(img, [("X", "1")], T)
    out = ic.finalize(img, labels={"cli": "yes"})
    assert out["created"] == T
    assert out["config"]["Labels"] == {"from": "base", "cli": "yes"}
    assert "Labels" in img["config"] and "cli" not in img["config"]["Labels"]
