"""QA pass 3: volumes as a Docker user meets them (run --rm, volume ls --format)."""

from __future__ import annotations

import pytest


@pytest.fixture
def bb(cli, busybox_tar):
    assert cli("import", str(busybox_tar), "bb:1").code == 0


@pytest.mark.requires_root
@pytest.mark.requires_runc
@pytest.mark.requires_overlay
def test_run_rm_removes_anonymous_volumes_but_keeps_named_ones(cli, bb):
    # Docker: "--rm ... also removes the anonymous volumes associated with the container"
    # (like rm -v); a named volume stays. Anonymous volumes used to pile up on every run.
    assert cli("run", "--rm", "-v", "/anon", "-v", "qa3named:/named", "bb:1", "true").code == 0
    assert cli("volume", "ls", "-q").out == "qa3named\n"
    r = cli("run", "-d", "--rm", "-v", "/anon", "bb:1", "true")
    assert r.code == 0, r.err
    import time

    for _ in range(100):  # the detached container exits and is removed by its monitor
        if cli("volume", "ls", "-q").out == "qa3named\n":
            break
        time.sleep(0.1)
    assert cli("volume", "ls", "-q").out == "qa3named\n"


def test_volume_ls_format_fields_are_dockers(cli, skiff_root):
    # docker volume ls --format: Labels is "k=v,k2=v2" (not a map), and {{json .}} has the
    # formatter's fields, N/A for what a local volume does not report (docker 20.10's
    # volumeContext: no Availability/Group/Status, those came with cluster volumes).
    assert cli("volume", "create", "--label", "k=v", "--label", "a=b", "lvq").code == 0
    r = cli("volume", "ls", "--format", "{{.Name}}|{{.Labels}}|{{.Scope}}|{{.Size}}")
    assert (r.code, r.out) == (0, "lvq|a=b,k=v|local|N/A\n")
    r = cli("volume", "ls", "--format", "json")
    assert r.out == (
        '{"Driver":"local","Labels":"a=b,k=v",'
        '"Links":"N/A","Mountpoint":"' + str(skiff_root) + '/volumes/lvq/_data",'
        '"Name":"lvq","Scope":"local","Size":"N/A"}\n')


def test_volume_prune_asks_first_and_honours_label_filters(cli):
    # Docker: `volume prune` without -f asks (and keeps everything on "n"); --filter
    # label=K / label!=K narrows what goes. skiff pruned at once and ignored --filter.
    for name, label in (("pa", "team=a"), ("pb", "team=b"), ("pc", None)):
        args = ["volume", "create", name] + (["--label", label] if label else [])
        assert cli(*args).code == 0
    r = cli("volume", "prune", "-a", stdin=b"n\n")
    assert (r.code, r.out) == (0, "WARNING! This will remove all local volumes not used by at "
                                  "least one container.\nAre you sure you want to continue? "
                                  "[y/N] ")
    assert cli("volume", "ls", "-q").out.split() == ["pa", "pb", "pc"]
    r = cli("volume", "prune", "-a", "-f", "--filter", "label=team=a")
    assert (r.code, r.out) == (0, "Deleted Volumes:\npa\n\nTotal reclaimed space: 0B\n")
    r = cli("volume", "prune", "-a", "-f", "--filter", "label!=team")
    assert (r.code, r.out) == (0, "Deleted Volumes:\npc\n\nTotal reclaimed space: 0B\n")
    assert cli("volume", "ls", "-q").out == "pb\n"


def test_volume_prune_counts_file_bytes_as_docker(cli):
    # moby pkg/directory.Size: apparent file sizes, directories not counted: a volume
    # holding one 1-byte file and an empty directory reclaims "1B" (skiff said 57.3kB, du).
    import os

    assert cli("volume", "create", "pz").code == 0
    mp = cli("volume", "inspect", "-f", "{{.Mountpoint}}", "pz").out.strip()
    with open(os.path.join(mp, "one"), "w") as f:
        f.write("\n")
    os.mkdir(os.path.join(mp, "sub"))
    r = cli("volume", "prune", "-a", "-f")
    assert (r.code, r.out) == (0, "Deleted Volumes:\npz\n\nTotal reclaimed space: 1B\n")


def test_volume_names_too_short_or_too_long_are_refused_as_docker(cli, skiff_root):
    # moby: a 1-character name is "too short"; a name the file system cannot hold fails at
    # mkdir with Docker's message, exit 1, nothing recorded. skiff said "invalid
    # characters" for "a" and crashed with an internal error (exit 125) on 300 characters.
    r = cli("volume", "create", "a")
    assert (r.code, r.err) == (1, "skiff: create a: volume name is too short, names should "
                                  "be at least two alphanumeric characters\n")
    long = "v" * 300
    root = skiff_root / "volumes" / long
    r = cli("volume", "create", long)
    assert (r.code, r.err) == (1, f"skiff: create {long}: error while creating volume root "
                                  f"path '{root}': mkdir {root}: file name too long\n")
    assert cli("volume", "ls", "-q").out == ""


def test_volume_inspect_prints_utf8_and_refuses_a_broken_template(cli, skiff_root):
    # docker volume inspect: Go's JSON keeps non-ASCII text as UTF-8 (no \u escapes); a
    # missing name goes to stderr after the found ones are printed, exit 1; a template that
    # does not parse exits 64, as for docker container inspect (docker 20.10 measured).
    assert cli("volume", "create", "--label", "owner=zoë", "v8").code == 0
    r = cli("volume", "inspect", "v8", "nosuchvol")
    assert r.code == 1
    assert '"owner": "zoë"' in r.out
    assert r.err == "skiff: No such volume: nosuchvol\n"  # (docker 20.10: No such volume)
    assert cli("volume", "inspect", "-f", "{{.Name", "v8").code == 64


def test_volume_and_network_not_found_in_docker_clis_words(cli):
    """docker 20.10: `volume inspect|rm nope` say "No such volume: nope", `network
    inspect|rm nope` "No such network: nope" (measured), exit 1."""
    for argv, err in ((("volume", "inspect", "nope"), "No such volume: nope"),
                      (("volume", "rm", "nope"), "No such volume: nope"),
                      (("network", "inspect", "nope"), "No such network: nope"),
                      (("network", "rm", "nope"), "No such network: nope")):
        r = cli(*argv)
        assert (r.code, r.err) == (1, f"skiff: {err}\n"), argv
