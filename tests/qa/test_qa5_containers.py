"""QA pass 5: containers beyond run --rm (diff, volumes, cp...), compared with docker 20.10."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.requires_root, pytest.mark.requires_overlay, pytest.mark.requires_runc]


@pytest.fixture
def nested(cli, busybox_tar, tmp_path):
    """An image with /a/b/c/f and /a/b/g (mode 0755 dirs, one layer above busybox)."""
    assert cli("import", str(busybox_tar), "bb:1").code == 0
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(
        "FROM bb:1\nRUN mkdir -p /a/b/c && echo 1 > /a/b/c/f && echo 2 > /a/b/g\n")
    r = cli("build", "-q", "-t", "nested:1", str(ctx))
    assert r.code == 0, r.err
    return "nested:1"


@pytest.mark.parametrize("script, expected", [
    # docker 20.10 (overlay2's Changes is moby's naive tree diff since 18.06): every
    # directory holding a change is "C", a modified file is "C"
    ("echo >> /a/b/c/f", "C /a\nC /a/b\nC /a/b/c\nC /a/b/c/f\n"),
    ("rm /a/b/c/f", "C /a\nC /a/b\nC /a/b/c\nD /a/b/c/f\n"),
    # a directory replaced (overlay makes it opaque): the directory is "C", what it held
    # before is "D" one by one, what it holds now "A" (docker lists a directory's entries
    # in map order; skiff sorts by path)
    ("rm -rf /a/b && mkdir /a/b && echo > /a/b/new",
     "C /a\nC /a/b\nD /a/b/c\nD /a/b/g\nA /a/b/new\n"),
    # a directory whose mtime alone moved (a file made then removed), or copied up by
    # overlayfs with nothing changed below: not a change
    ("touch /tmp/x; rm /tmp/x; mkdir /bin/zz; rmdir /bin/zz", ""),
    ("chmod 700 /a/b", "C /a\nC /a/b\n"),
])
def test_diff_reports_changed_parents_as_docker(cli, nested, script, expected):
    r = cli("run", "--name", "qa5diff", nested, "sh", "-c", script)
    assert r.code == 0, r.err
    r = cli("diff", "qa5diff")
    assert (r.code, r.out) == (0, expected)


def test_volume_without_labels_inspects_labels_null(cli):
    # docker 20.10: `docker volume create v` then `docker volume inspect v` has
    # "Labels": null (and {"a": "b"} with --label a=b)
    import json

    assert cli("volume", "create", "qa5v").code == 0
    assert cli("volume", "create", "--label", "a=b", "qa5w").code == 0
    got = json.loads(cli("volume", "inspect", "qa5v", "qa5w").out)
    assert [(v["Name"], v["Labels"], v["Options"]) for v in got] == [
        ("qa5v", None, None), ("qa5w", {"a": "b"}, None)]
    r = cli("volume", "ls", "--format", "{{.Name}}|{{.Labels}}")
    assert sorted(r.out.splitlines()) == ["qa5v|", "qa5w|a=b"]


def test_commit_change_entrypoint_resets_cmd_unless_a_cmd_change_came_first(cli, busybox_tar):
    # moby dispatchEntrypoint: "if !cmdSet { Cmd = nil }". docker 20.10:
    #   commit -c 'ENTRYPOINT ["/bin/sh"]' C            → Entrypoint ["/bin/sh"], Cmd null
    #   commit -c 'CMD ["x"]' -c 'ENTRYPOINT ["/bin/echo"]' C → Cmd ["x"] kept
    assert cli("import", str(busybox_tar), "bb:1").code == 0
    assert cli("create", "--name", "qa5ep", "bb:1", "sleep", "300").code == 0
    fmt = "{{json .Config.Entrypoint}} {{json .Config.Cmd}}"
    assert cli("commit", "-c", 'ENTRYPOINT ["/bin/sh"]', "qa5ep", "ep:1").code == 0
    assert cli("image", "inspect", "-f", fmt, "ep:1").out == '["/bin/sh"] null\n'
    assert cli("commit", "-c", 'CMD ["x"]', "-c", 'ENTRYPOINT ["/bin/echo"]', "qa5ep",
               "ep:2").code == 0
    assert cli("image", "inspect", "-f", fmt, "ep:2").out == '["/bin/echo"] ["x"]\n'
    assert cli("commit", "qa5ep", "ep:3").code == 0
    assert cli("image", "inspect", "-f", fmt, "ep:3").out == 'null ["sleep","300"]\n'


def test_change_command_refused_as_docker_says(cli, busybox_tar):
    # docker 20.10 import/commit -c 'run echo': "run is not a valid change command" (the
    # instruction as the parser lowercases it), exit 1
    r = cli("import", "-c", "RUN echo", str(busybox_tar), "bb:2")
    assert (r.code, r.err) == (1, "skiff: run is not a valid change command\n")


def test_stats_no_stream_names_stopped_containers_and_keeps_the_name_given(cli, busybox_tar):
    # docker 20.10: `docker stats --no-stream NAME` for a created/stopped container prints
    # its row with zeros; `.Container` is the name or ID as given on the command line
    # (the short ID when listing); -a lists stopped containers too.
    assert cli("import", str(busybox_tar), "bb:1").code == 0
    cid = cli("create", "--name", "qa5st", "bb:1", "true").out.strip()
    r = cli("stats", "--no-stream", "qa5st")
    assert (r.code, r.out.splitlines()) == (0, [
        "CONTAINER ID   NAME      CPU %     MEM USAGE / LIMIT   MEM %     NET I/O   "
        "BLOCK I/O   PIDS",
        f"{cid[:12]}   qa5st     0.00%     0B / 0B             0.00%     0B / 0B   "
        "0B / 0B     0"])
    fmt = "{{.Container}}|{{.ID}}|{{.Name}}|{{.PIDs}}"
    r = cli("stats", "--no-stream", "--format", fmt, cid[:8])
    assert (r.code, r.out) == (0, f"{cid[:8]}|{cid[:12]}|qa5st|0\n")
    assert cli("stats", "--no-stream", "--format", fmt).out == ""
    r = cli("stats", "--no-stream", "-a", "--format", fmt)
    assert r.out == f"{cid[:12]}|{cid[:12]}|qa5st|0\n"


def test_port_not_published_names_the_container_as_given(cli, busybox_tar):
    # docker/cli port.go: "Error: No public port '81/tcp' published for NAME" (the
    # container as typed, not its ID), exit 1
    assert cli("import", str(busybox_tar), "bb:1").code == 0
    assert cli("create", "--name", "qa5port", "bb:1", "true").code == 0
    r = cli("port", "qa5port", "81")
    assert (r.code, r.err) == (1, "skiff: No public port '81/tcp' published for qa5port\n")


def test_cp_missing_destinations_say_what_docker_says(cli, busybox_tar, tmp_path):
    # docker 20.10 (exit 1 each):
    #   cp f C:/tmp/nodir/     → "no such directory" (docker/cli archive.ErrDirNotExists)
    #   cp f C:/nonexist/x     → "Could not find the file /nonexist in container C"
    #   cp nosuch C:/tmp       → "lstat /abs/path/nosuch: no such file or directory"
    #   cp C:/etc/passwd out/nodir/ → "no such directory"
    assert cli("import", str(busybox_tar), "bb:1").code == 0
    assert cli("create", "--name", "qa5cp", "bb:1", "true").code == 0
    f = tmp_path / "f"
    f.write_text("f\n")
    import os

    cwd = os.getcwd()
    os.chdir(tmp_path)  # (the cli fixture's monkeypatch is undone after each call)
    try:
        for args, err in [
            (("f", "qa5cp:/tmp/nodir/"), "no such directory"),
            (("f", "qa5cp:/nonexist/x"),
             "Could not find the file /nonexist in container qa5cp"),
            (("nosuch", "qa5cp:/tmp"), f"lstat {tmp_path}/nosuch: no such file or directory"),
            (("qa5cp:/etc/passwd", "nodir/"), "no such directory"),
        ]:
            r = cli("cp", *args)
            assert (r.code, r.err) == (1, f"skiff: {err}\n"), args
    finally:
        os.chdir(cwd)


@pytest.mark.parametrize("spec, err", [
    # dockerd's local driver (validateOpts): the volume is not created
    ("type=volume,src=qa5mo,dst=/m,volume-opt=foo=bar",
     'skiff: create qa5mo: invalid option: "foo"\n'),
    # docker/cli opts/mount.go, a flag error (docker 20.10: "See 'docker run --help'.")
    ("type=volume,dst=/m,foo=bar",
     'skiff: invalid argument "type=volume,dst=/m,foo=bar" for "--mount" flag: '
     "unexpected key 'foo' in 'foo=bar'\nSee 'skiff run --help'.\n"),
])
def test_mount_flag_refuses_what_docker_refuses(cli, busybox_tar, spec, err):
    assert cli("import", str(busybox_tar), "bb:1").code == 0
    r = cli("run", "--rm", "--mount", spec, "bb:1", "true")
    assert (r.code, r.err) == (125, err)
    assert cli("volume", "ls", "-q").out == ""


def test_top_and_rename_refusals_read_as_docker(cli, busybox_tar):
    # docker 20.10: top of a created container "Container <ID> is not running" (moby
    # errNotRunning); rename to "": docker/cli's own "Error: Neither old nor new names may
    # be empty" (skiff: in place of "Error:", as its "failed to rename" line), exit 1 each
    assert cli("import", str(busybox_tar), "bb:1").code == 0
    cid = cli("create", "--name", "qa5tp", "bb:1", "true").out.strip()
    r = cli("top", "qa5tp")
    assert (r.code, r.err) == (1, f"skiff: Container {cid} is not running\n")
    r = cli("rename", "qa5tp", "")
    assert (r.code, r.err) == (1, "skiff: Neither old nor new names may be empty\n")


def test_mount_flag_inspects_as_docker(cli, busybox_tar, tmp_path):
    # docker 20.10 create --mount ...: HostConfig.Mounts holds the parsed mounts (not the
    # flag strings), a --mount volume's Mounts entry has Mode "z", volume-label labels a
    # new volume, and no skiff bookkeeping (NoCopy) shows in Mounts
    import json

    assert cli("import", str(busybox_tar), "bb:1").code == 0
    b = tmp_path / "b"
    b.mkdir()
    r = cli("create", "--name", "qa5hm",
            "--mount", f"type=bind,src={b},dst=/b,ro,bind-propagation=rslave",
            "--mount", f"type=bind,source={b},target=/b2,readonly=true,consistency=cached",
            "--mount", "type=volume,src=qa5hv,dst=/v,volume-label=a=b,volume-driver=local",
            "--mount", "type=volume,src=qa5hv2,dst=/v2,volume-nocopy",
            "--mount", "type=tmpfs,dst=/t,tmpfs-size=1m,tmpfs-mode=1770",
            "--mount", "type=tmpfs,destination=/t2", "bb:1", "true")
    assert r.code == 0, r.err
    hc = json.loads(cli("inspect", "-f", "{{json .HostConfig.Mounts}}", "qa5hm").out)
    assert hc == [
        {"Type": "bind", "Source": str(b), "Target": "/b", "ReadOnly": True,
         "BindOptions": {"Propagation": "rslave"}},
        {"Type": "bind", "Source": str(b), "Target": "/b2", "ReadOnly": True,
         "Consistency": "cached"},
        {"Type": "volume", "Source": "qa5hv", "Target": "/v",
         "VolumeOptions": {"Labels": {"a": "b"}, "DriverConfig": {"Name": "local"}}},
        {"Type": "volume", "Source": "qa5hv2", "Target": "/v2",
         "VolumeOptions": {"NoCopy": True, "DriverConfig": {}}},
        {"Type": "tmpfs", "Target": "/t", "TmpfsOptions": {"SizeBytes": 1048576, "Mode": 1016}},
        {"Type": "tmpfs", "Target": "/t2"}]
    mounts = json.loads(cli("inspect", "-f", "{{json .Mounts}}", "qa5hm").out)
    assert sorted((m["Destination"], m["Mode"], sorted(m)) for m in mounts
                  if m["Type"] == "volume") == [
        ("/v", "z", ["Destination", "Driver", "Mode", "Name", "Propagation", "RW", "Source",
                     "Type"]),
        ("/v2", "z", ["Destination", "Driver", "Mode", "Name", "Propagation", "RW", "Source",
                      "Type"])]
    assert cli("volume", "inspect", "-f", "{{json .Labels}}", "qa5hv").out == '{"a":"b"}\n'


def test_network_prune_honours_its_filters(cli):
    # docker 20.10 network prune: filters until, label, label! (others "Invalid filter",
    # a bad until its parse error), exit 1; the list is followed by a blank line
    # (docker/cli Fprintln of "Deleted Networks:\n<name>\n"). skiff ignored --filter and
    # removed every unused network.
    assert cli("network", "create", "--label", "keep=1", "qa5n1").code == 0
    assert cli("network", "create", "qa5n2").code == 0
    try:
        for f, err in [("bogus=1", "Invalid filter 'bogus'"),
                       ("until=bogus", 'failed to parse value as time or duration: "bogus"')]:
            r = cli("network", "prune", "-f", "--filter", f)
            assert (r.code, r.err) == (1, f"skiff: {err}\n"), f
        r = cli("network", "prune", "-f", "--filter", "label!=keep")
        assert (r.code, r.out) == (0, "Deleted Networks:\nqa5n2\n\n")
        r = cli("network", "prune", "-f", "--filter", "until=1h")
        assert (r.code, r.out) == (0, "")
        r = cli("network", "prune", "-f", "--filter", "label=keep=1")
        assert (r.code, r.out) == (0, "Deleted Networks:\nqa5n1\n\n")
    finally:
        cli("network", "rm", "qa5n1")
        cli("network", "rm", "qa5n2")


@pytest.mark.parametrize("cmd", [("container", "prune"), ("volume", "prune"),
                                 ("system", "prune"), ("network", "prune"),
                                 ("image", "prune")])
def test_prune_refuses_an_unknown_filter_as_dockerd(cli, cmd):
    # docker 20.10: "Error response from daemon: Invalid filter 'bogus'", exit 1
    r = cli(*cmd, "-f", "--filter", "bogus=1")
    assert (r.code, r.out, r.err) == (1, "", "skiff: Invalid filter 'bogus'\n")


def test_container_prune_label_filters(cli, busybox_tar):
    # moby container prune: label! spares containers carrying the label; until's bad
    # value is its parse error alone
    assert cli("import", str(busybox_tar), "bb:1").code == 0
    keep = cli("create", "--label", "keep=1", "bb:1", "true").out.strip()
    gone = cli("create", "bb:1", "true").out.strip()
    r = cli("container", "prune", "-f", "--filter", "until=bogus")
    assert (r.code, r.err) == (1, 'skiff: failed to parse value as time or duration: "bogus"\n')
    r = cli("container", "prune", "-f", "--filter", "label!=keep")
    assert r.code == 0, r.err
    assert r.out.splitlines()[:2] == ["Deleted Containers:", gone]
    assert cli("ps", "-aq", "--no-trunc").out == keep + "\n"


def test_system_prune_with_a_label_filter_spares_what_has_no_such_label(cli, busybox_tar,
                                                                        tmp_path):
    # docker 20.10 system prune -f --filter label=nothing: nothing matches (the build
    # cache has no labels), "Total reclaimed space: 0B"; skiff emptied the build cache.
    # Networks pruned: "Deleted Networks:\nNAME\n" and one blank line before the total.
    assert cli("import", str(busybox_tar), "bb:1").code == 0
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text("FROM bb:1\nRUN echo x > /x\n")
    assert cli("build", "-q", "-t", "sp:1", str(ctx)).code == 0
    assert cli("network", "create", "qa5sp").code == 0
    try:
        r = cli("system", "prune", "-f", "--filter", "label=nothing")
        assert (r.code, r.out) == (0, "Total reclaimed space: 0B\n")
        assert cli("builder", "prune", "-f").out.startswith("Deleted build cache objects:")
        r = cli("system", "prune", "-f")
        assert (r.code, r.out) == (0, "Deleted Networks:\nqa5sp\n\nTotal reclaimed space: 0B\n")
    finally:
        cli("network", "rm", "qa5sp")


def test_logs_details_prefixes_the_empty_attributes(cli, busybox_tar):
    # docker 20.10 logs --details: each line after its attributes (none here) and a space;
    # with -t the timestamp comes first: "<ts>  a"
    assert cli("import", str(busybox_tar), "bb:1").code == 0
    assert cli("run", "--name", "qa5det", "bb:1", "echo", "a").code == 0
    assert cli("logs", "--details", "qa5det").out == " a\n"
    out = cli("logs", "-t", "--details", "qa5det").out
    assert out.endswith("Z  a\n") and out.count(" ") == 2


def test_read_only_volume_over_etc_starts(cli, busybox_tar):
    # docker 20.10: run -v vol:/etc:ro works: the new volume is filled from the image's
    # /etc and the init layer's mount points (hosts, hostname, resolv.conf), so nothing
    # has to be created in the read-only volume; skiff's runc failed "read-only file
    # system" making /etc/resolv.conf
    assert cli("import", str(busybox_tar), "bb:1").code == 0
    r = cli("run", "--rm", "-v", "qa5etc:/etc:ro", "bb:1", "sh", "-c",
            "ls /etc; touch /etc/x")
    assert r.code == 1, r.err
    assert r.out.split() == ["group", "hostname", "hosts", "passwd", "resolv.conf"]
    assert r.err == "touch: /etc/x: Read-only file system\n"


@pytest.mark.parametrize("f, err", [
    ("bogus=1", "Invalid filter 'bogus'"),
    ("dangling=maybe", "Invalid filter 'dangling=[maybe]'"),
    ("label!=a", "Invalid filter 'label!'"),
])
def test_volume_ls_refuses_unknown_filters_as_dockerd(cli, f, err):
    # docker 20.10 volume ls: filters driver, label, name, dangling (true/1/false/0);
    # anything else "Invalid filter ...", exit 1 (skiff listed every volume)
    assert cli("volume", "create", "qa5vf").code == 0
    r = cli("volume", "ls", "-f", f)
    assert (r.code, r.out, r.err) == (1, "", f"skiff: {err}\n")


@pytest.mark.parametrize("f, err", [
    ("bogus=1", "Invalid filter 'bogus'"),
    ("dangling=maybe",
     "invalid value for filter 'dangling', must be \"true\" (or \"1\"), or \"false\" (or \"0\")"),
])
def test_network_ls_refuses_bad_filters_as_dockerd(cli, f, err):
    # docker 20.10 network ls, exit 1 (skiff: lowercase "invalid", a bad dangling value
    # taken as false)
    r = cli("network", "ls", "-f", f)
    assert (r.code, r.out, r.err) == (1, "", f"skiff: {err}\n")
