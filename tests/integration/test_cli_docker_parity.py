"""Docker CLI behaviour QA found missing, checked against docker 20.10's output with a
real store (runc and overlayfs where a container runs): non-UTF-8 bytes in any command's
arguments, ``--`` after IMAGE, sorted JSON objects in inspect, ``ps``'s ``.Label``."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.integration.test_container_lifecycle import _main, drop_runc_root

pytestmark = [pytest.mark.requires_root, pytest.mark.requires_runc, pytest.mark.requires_overlay]


@pytest.fixture(scope="module")
def root(tmp_path_factory, busybox_tar):
    r = tmp_path_factory.mktemp("parity") / "root"
    assert _main(r, "import", str(busybox_tar), "bb:1").code == 0
    yield r
    drop_runc_root(r)


def _exe(root, *args: str | bytes) -> subprocess.CompletedProcess:
    """The real executable (its argv as the kernel gives it: bytes that are not UTF-8)."""
    return subprocess.run([sys.executable, "-m", "skiff", "--root", os.fsencode(root), *args],
                          capture_output=True, timeout=120)


def test_commit_message_with_non_utf8_byte_becomes_replacement_char(root):
    """`docker commit -m $'\\xff' c1 x:1` stores the comment "\\ufffd" (its JSON does);
    skiff crashed with an internal UnicodeEncodeError. Now every command's arguments
    are cleaned where argv is decoded (skiff.cli.main)."""
    assert _main(root, "create", "--name", "p-commit", "bb:1", "true").code == 0
    r = _exe(root, "commit", "-m", b"\xff", "p-commit", "p-commit:1")
    assert (r.returncode, r.stderr) == (0, b""), r
    r = _exe(root, "inspect", "--format", "{{json .Comment}}", "p-commit:1")
    assert r.stdout == b'"\xef\xbf\xbd"\n'
    r = _exe(root, "history", "--format", "{{.Comment}}", "p-commit:1")
    assert r.stdout.splitlines()[0] == b"\xef\xbf\xbd"
    assert _main(root, "rm", "p-commit").code == 0
    assert _main(root, "rmi", "p-commit:1").code == 0


def test_local_file_names_keep_their_non_utf8_bytes(root, tmp_path, busybox_tar):
    """docker/cli opens local files byte for byte (``docker import /tmp/$'\xff'.tar``):
    import/save/load name the very file; only what goes into records is cleaned."""
    src = os.fsencode(tmp_path) + b"/bb\xff.tar"
    with open(busybox_tar, "rb") as f, open(src, "wb") as g:
        g.write(f.read())
    r = _exe(root, "import", src, "bad-bytes:1")
    assert (r.returncode, r.stderr) == (0, b""), r
    out = os.fsencode(tmp_path) + b"/out\xfe.tar"
    r = _exe(root, "save", "-o", out, "bad-bytes:1")
    assert (r.returncode, r.stderr) == (0, b""), r
    assert os.path.getsize(out) > 0
    assert not os.path.exists(os.fsencode(tmp_path) + "/out\ufffd.tar".encode())
    assert _main(root, "rmi", "bad-bytes:1").code == 0
    r = _exe(root, "load", "-i", out)
    assert r.returncode == 0, r
    assert _main(root, "rmi", "bad-bytes:1").code == 0


def test_double_dash_after_image_is_the_command(root):
    """pflag stops at IMAGE (interspersed off): `docker run --rm bb:1 -- echo hi` runs
    "--" (exit 127, runc's "executable file not found"); argparse dropped the "--" and ran
    echo. create keeps it as Path, exec as its command."""
    r = _main(root, "run", "--rm", "--network", "none", "bb:1", "--", "echo", "hi")
    assert (r.code, r.out, r.err) == (127, "", (
        "skiff: failed to create task for container: failed to create shim task: OCI runtime "
        "create failed: runc create failed: unable to start container process: exec: \"--\": "
        "executable file not found in $PATH: unknown\n"))
    # a "--" before IMAGE only ends the flags
    r = _main(root, "run", "--rm", "--network", "none", "--", "bb:1", "echo", "--", "hi")
    assert (r.code, r.out) == (0, "-- hi\n")
    r = _main(root, "create", "--name", "p-dash", "bb:1", "--", "echo", "hi")
    assert r.code == 0, r
    r = _main(root, "inspect", "--format", "{{json .Path}} {{json .Args}} {{json .Config.Cmd}}",
              "p-dash")
    assert r.out == '"--" ["echo","hi"] ["--","echo","hi"]\n'
    assert _main(root, "ps", "-a", "--filter", "name=p-dash",
                 "--format", "{{.Command}}").out == '"-- echo hi"\n'
    assert _main(root, "rm", "p-dash").code == 0
    assert _main(root, "run", "-d", "--name", "p-exec", "--network", "none", "bb:1",
                 "sleep", "60").code == 0
    try:
        r = _main(root, "exec", "p-exec", "--", "echo", "hi")
        assert (r.code, r.err) == (127, (
            "skiff: OCI runtime exec failed: exec failed: unable to start container process: "
            "exec: \"--\": executable file not found in $PATH: unknown\n"))
        r = _main(root, "exec", "--", "p-exec", "echo", "hi")
        assert (r.code, r.out) == (0, "hi\n")
    finally:
        _main(root, "rm", "-f", "p-exec")


def test_inspect_writes_go_maps_with_sorted_keys(root, busybox_tar):
    """encoding/json writes a Go map's keys sorted: docker inspect shows `-l z=1 -l a=2
    -l m=3` as {"a","m","z"} (and ExposedPorts, Volumes; Config's field order puts
    ExposedPorts after AttachStderr); skiff showed the order given. Each expected value
    is docker 20.10's for the same command."""
    assert _main(root, "create", "--name", "p-lab", "-l", "z=1", "-l", "a=2", "-l", "m=3",
                 "--expose", "90", "--expose", "80/udp", "--expose", "8080", "-v", "/b",
                 "-v", "/a", "--network", "none", "bb:1", "true").code == 0
    try:
        r = _main(root, "inspect", "-f", "{{json .Config.Labels}} {{json .Config.ExposedPorts}} "
                  "{{json .Config.Volumes}}", "p-lab")
        assert r.out == ('{"a":"2","m":"3","z":"1"} {"80/udp":{},"8080/tcp":{},"90/tcp":{}} '
                         '{"/a":{},"/b":{}}\n')
        r = _main(root, "container", "inspect", "p-lab")
        cfg = json.loads(r.out)[0]["Config"]
        assert list(cfg)[5:7] == ["AttachStderr", "ExposedPorts"]
        assert '"Labels": {\n                "a": "2",\n                "m": "3",\n' \
               '                "z": "1"\n            }' in r.out
    finally:
        _main(root, "rm", "-v", "p-lab")
    r = _main(root, "import", "-c", "LABEL z=1 a=2 m=3", "-c", "EXPOSE 90 80/udp 8080",
              "-c", 'VOLUME ["/b", "/a"]', str(busybox_tar), "p-limp:1")
    assert r.code == 0, r
    r = _main(root, "image", "inspect", "-f", "{{json .Config}}", "p-limp:1")
    assert r.out == (
        '{"Hostname":"","Domainname":"","User":"","AttachStdin":false,"AttachStdout":false,'
        '"AttachStderr":false,"ExposedPorts":{"80/udp":{},"8080/tcp":{},"90/tcp":{}},'
        '"Tty":false,"OpenStdin":false,"StdinOnce":false,"Env":null,"Cmd":null,"Image":"",'
        '"Volumes":{"/a":{},"/b":{}},"WorkingDir":"","Entrypoint":null,"OnBuild":null,'
        '"Labels":{"a":"2","m":"3","z":"1"}}\n')
    assert _main(root, "rmi", "p-limp:1").code == 0
    assert _main(root, "volume", "create", "--label", "z=1", "--label", "a=2",
                 "p-lvol").code == 0
    assert _main(root, "volume", "inspect", "-f", "{{json .Labels}}",
                 "p-lvol").out == '{"a":"2","z":"1"}\n'
    assert _main(root, "volume", "rm", "p-lvol").code == 0
    assert _main(root, "network", "create", "--label", "z=1", "--label", "a=2", "-o", "zz=1",
                 "-o", "aa=2", "p-lnet").code == 0
    try:
        assert _main(root, "network", "inspect", "-f", "{{json .Labels}} {{json .Options}}",
                     "p-lnet").out == '{"a":"2","z":"1"} {"aa":"2","zz":"1"}\n'
    finally:
        _main(root, "network", "rm", "p-lnet")


def test_ps_label_method_and_row_fields(root):
    """docker/cli's ContainerContext.Label: `{{.Label "z"}}` is the label's value, ""
    for a missing one; the table header is the name's last dot part with - and _ as
    spaces. skiff failed: "Label is not a method but has arguments". Mounts are cut to 15
    characters ("…") unless --no-trunc, and {{json .}} computes Size, as docker 20.10."""
    assert _main(root, "create", "--name", "p-ps", "-l", "z=1", "-l", "a=2",
                 "-l", "com.x.app-name=web", "-v", "/vol", "--network", "none",
                 "bb:1", "true").code == 0
    try:
        r = _main(root, "ps", "-a", "--filter", "name=p-ps", "--format",
                  '[{{.Label "z"}}] [{{.Label "missing"}}] [{{.Labels}}] {{json .Labels}}')
        assert (r.code, r.out) == (0, '[1] [] [a=2,com.x.app-name=web,z=1] '
                                      '"a=2,com.x.app-name=web,z=1"\n')
        r = _main(root, "ps", "-a", "--filter", "name=p-ps", "--format",
                  'table {{.Names}}\t{{.Label "z"}}\t{{.Label "com.x.app-name"}}|'
                  '{{.Label "missing"}}|')
        assert r.out == ("NAMES     z         app name|missing|\n"
                         "p-ps      1         web||\n")
        r = _main(root, "ps", "-a", "--filter", "name=p-ps", "--format", "{{.Label}}")
        assert (r.code, r.out) == (1, "")
        assert r.err.endswith("wrong number of args for Label: want 1 got 0\n")
        vol = json.loads(_main(root, "inspect", "p-ps").out)[0]["Mounts"][0]["Name"]
        r = _main(root, "ps", "-a", "--filter", "name=p-ps", "--format", "{{.Mounts}}")
        assert r.out == vol[:14] + "…\n"
        r = _main(root, "ps", "-a", "--no-trunc", "--filter", "name=p-ps",
                  "--format", "{{.Mounts}}")
        assert r.out == vol + "\n"
        row = json.loads(_main(root, "ps", "-a", "--filter", "name=p-ps",
                               "--format", "{{json .}}").out)
        assert row["Size"] == "0B (virtual 1.98MB)"
        assert row["Mounts"] == vol[:14] + "…"
    finally:
        _main(root, "rm", "-v", "p-ps")


def test_images_virtual_size_header_is_size(root):
    """docker 20.10 heads {{.VirtualSize}} "SIZE" in an images table."""
    r = _main(root, "images", "--format", "table {{.Repository}}\t{{.VirtualSize}}", "bb:1")
    assert r.out == "REPOSITORY   SIZE\nbb           1.983MB\n"


def test_volume_and_network_ls_label_method(root):
    """docker/cli's volume and network contexts have Label too; network ls's CreatedAt is
    Go's time.Time String (skiff printed the float of its record)."""
    assert _main(root, "volume", "create", "--label", "z=1", "--label", "a=2",
                 "p-vls").code == 0
    try:
        r = _main(root, "volume", "ls", "--filter", "name=p-vls", "--format",
                  '{{.Label "z"}}|{{.Label "missing"}}|{{.Labels}}')
        assert (r.code, r.out) == (0, "1||a=2,z=1\n")
    finally:
        _main(root, "volume", "rm", "p-vls")
    assert _main(root, "network", "create", "--label", "z=1", "--label", "a=2",
                 "p-nls").code == 0
    try:
        r = _main(root, "network", "ls", "--filter", "name=p-nls", "--format",
                  'table {{.Name}}\t{{.Label "z"}}|{{.Label "missing"}}|{{.Labels}}')
        assert (r.code, r.out) == (0, "NAME      z|missing|LABELS\np-nls     1||a=2,z=1\n")
        created = _main(root, "network", "inspect", "-f", "{{.Created}}", "p-nls").out.strip()
        day, clock = created.rstrip("Z").split("T")
        r = _main(root, "network", "ls", "--filter", "name=p-nls", "--format", "{{.CreatedAt}}")
        assert r.out == f"{day} {clock} +0000 UTC\n"
    finally:
        _main(root, "network", "rm", "p-nls")


def test_run_of_a_missing_image_names_it_as_docker_does(root):
    """docker/cli checks the name first (`docker run UPPER`: only the lowercase error,
    exit 125), then says `Unable to find image 'localhost:1/nope:latest' locally` of the
    familiar name with :latest added, before its pull fails (exit 125)."""
    r = _exe(root, "run", "--rm", "UPPER")
    assert (r.returncode, r.stderr) == (
        125, b"skiff: invalid reference format: repository name must be lowercase\n")
    r = _exe(root, "run", "--rm", "localhost:1/nope")
    assert r.returncode == 125
    assert r.stderr.splitlines()[0] == b"Unable to find image 'localhost:1/nope:latest' locally"


def test_init_layer_files_as_docker(root):
    """Docker's init layer gives every container /.dockerenv (empty, 0755, root's) and
    /etc/mtab -> /proc/mounts where the image has none (scripts test /.dockerenv to know
    they run in a container); diff, ps -s and commit leave them out as Docker's init layer
    keeps them out of the rw layer; export has them."""
    r = _exe(root, "run", "--name", "p-init", "--network", "none", "bb:1", "stat", "-c",
             "%n %s %a %u:%g %F %N", "/.dockerenv", "/etc/mtab")
    assert r.returncode == 0, r
    assert r.stdout.decode().splitlines() == [
        "/.dockerenv 0 755 0:0 regular empty file /.dockerenv",  # (docker's, byte for byte)
        "/etc/mtab 12 777 0:0 symbolic link '/etc/mtab' -> '/proc/mounts'"]
    assert _exe(root, "diff", "p-init").stdout == b""
    r = _exe(root, "ps", "-a", "-s", "--filter", "name=p-init", "--format", "{{.Size}}")
    assert r.stdout.split(b" ")[0] == b"0B"
    out = _exe(root, "export", "p-init").stdout
    import io
    import tarfile

    with tarfile.open(fileobj=io.BytesIO(out)) as t:
        env, mtab = t.getmember(".dockerenv"), t.getmember("etc/mtab")
    assert (env.isreg(), env.size, env.mode) == (True, 0, 0o755)
    assert (mtab.issym(), mtab.linkname) == (True, "/proc/mounts")
    assert _exe(root, "commit", "p-init", "p-init:1").returncode == 0
    r = _exe(root, "create", "--name", "p-init2", "p-init:1")
    assert _exe(root, "diff", "p-init2").stdout == b""  # (nothing of them in the image)
    assert _main(root, "rm", "p-init", "p-init2").code == 0
    assert _main(root, "rmi", "p-init:1").code == 0


def test_disable_content_trust_is_taken_and_trust_refused(root, tmp_path):
    """`--disable-content-trust` (docker's default: true) is what CI scripts pass to build,
    create, run, pull and push; skiff takes it. Asking for content trust (`=false`) is
    refused, exit 125, instead of running unverified."""
    r = _exe(root, "run", "--rm", "--disable-content-trust", "--network", "none", "bb:1",
             "echo", "ok")
    assert (r.returncode, r.stdout) == (0, b"ok\n"), r
    r = _exe(root, "create", "--disable-content-trust=true", "--name", "p-dct", "bb:1", "true")
    assert r.returncode == 0, r
    assert _main(root, "rm", "p-dct").code == 0
    why = (b"--disable-content-trust=false: content trust (Notary signatures) is not "
           b"supported; images are verified by their digests only\n")
    for cmd in (("run", "--rm"), ("create",), ("pull",), ("push",)):
        r = _exe(root, *cmd, "--disable-content-trust=false", "bb:1")
        assert (r.returncode, r.stderr) == (125, b"skiff: " + why), (cmd, r)
    (tmp_path / "Dockerfile").write_text("FROM bb:1\n")
    r = _exe(root, "build", "--disable-content-trust", "-q", str(tmp_path))
    assert r.returncode == 0, r
    r = _exe(root, "build", "--disable-content-trust=false", "-q", str(tmp_path))
    assert (r.returncode, r.stderr) == (125, b"skiff: " + why)


def test_commit_layer_size_is_what_docker_counts(root):
    """docker history shows a committed layer's file bytes (archive.ChangesSize), not its
    tar's: 0B for a container that changed nothing, 8B for a 6-byte file plus a symlink
    to "/x" (docker 20.10, measured); skiff showed the tar's 10.2kB."""
    assert _main(root, "run", "--name", "p-cs0", "--network", "none", "bb:1", "true").code == 0
    assert _main(root, "run", "--name", "p-cs1", "--network", "none", "bb:1", "sh", "-c",
                 "echo hello > /f; ln -s /x /l; rm /etc/group").code == 0
    for name, size in (("p-cs0", "0B"), ("p-cs1", "8B")):
        assert _main(root, "commit", name, f"{name}:1").code == 0
        r = _exe(root, "history", "--format", "{{.Size}}", f"{name}:1")
        assert r.stdout.splitlines()[0] == size.encode()
        assert _main(root, "rm", name).code == 0
        assert _main(root, "rmi", f"{name}:1").code == 0


# docker 20.10.24's `docker inspect` of `docker create bb:1 true`, keys in its order
_DOCKER_HOSTCONFIG_KEYS = [
    "Binds", "ContainerIDFile", "LogConfig", "NetworkMode", "PortBindings", "RestartPolicy",
    "AutoRemove", "VolumeDriver", "VolumesFrom", "CapAdd", "CapDrop", "CgroupnsMode", "Dns",
    "DnsOptions", "DnsSearch", "ExtraHosts", "GroupAdd", "IpcMode", "Cgroup", "Links",
    "OomScoreAdj", "PidMode", "Privileged", "PublishAllPorts", "ReadonlyRootfs",
    "SecurityOpt", "UTSMode", "UsernsMode", "ShmSize", "Runtime", "ConsoleSize", "Isolation",
    "CpuShares", "Memory", "NanoCpus", "CgroupParent", "BlkioWeight", "BlkioWeightDevice",
    "BlkioDeviceReadBps", "BlkioDeviceWriteBps", "BlkioDeviceReadIOps",
    "BlkioDeviceWriteIOps", "CpuPeriod", "CpuQuota", "CpuRealtimePeriod",
    "CpuRealtimeRuntime", "CpusetCpus", "CpusetMems", "Devices", "DeviceCgroupRules",
    "DeviceRequests", "KernelMemory", "KernelMemoryTCP", "MemoryReservation", "MemorySwap",
    "MemorySwappiness", "OomKillDisable", "PidsLimit", "Ulimits", "CpuCount", "CpuPercent",
    "IOMaximumIOps", "IOMaximumBandwidth", "MaskedPaths", "ReadonlyPaths"]
_DOCKER_TOP_KEYS = [
    "Id", "Created", "Path", "Args", "State", "Image", "ResolvConfPath", "HostnamePath",
    "HostsPath", "LogPath", "Name", "RestartCount", "Driver", "Platform", "MountLabel",
    "ProcessLabel", "AppArmorProfile", "ExecIDs", "HostConfig", "GraphDriver", "Mounts",
    "Config", "NetworkSettings"]
_DOCKER_NETWORK_SETTINGS_KEYS = [
    "Bridge", "SandboxID", "HairpinMode", "LinkLocalIPv6Address", "LinkLocalIPv6PrefixLen",
    "Ports", "SandboxKey", "SecondaryIPAddresses", "SecondaryIPv6Addresses", "EndpointID",
    "Gateway", "GlobalIPv6Address", "GlobalIPv6PrefixLen", "IPAddress", "IPPrefixLen",
    "IPv6Gateway", "MacAddress", "Networks"]


def test_inspect_has_dockers_keys_in_its_order(root):
    """`inspect` of a created container: docker 20.10's top-level, HostConfig and
    NetworkSettings keys in its order (zero values for what skiff records no value of:
    Cgroup "", ConsoleSize [0, 0], Links null, ...), Devices [] and Config.Env null when
    empty, the omitempty fields (Init, Mounts, Sysctls, Tmpfs) left out, and GraphDriver
    naming the overlay's directories."""
    assert _main(root, "create", "--name", "p-insp", "--network", "none", "bb:1", "true").code == 0
    [rec] = json.loads(_exe(root, "inspect", "p-insp").stdout)
    assert list(rec) == _DOCKER_TOP_KEYS
    hc = rec["HostConfig"]
    assert list(hc) == _DOCKER_HOSTCONFIG_KEYS
    assert (hc["Cgroup"], hc["ConsoleSize"], hc["Links"], hc["Devices"], hc["Isolation"],
            hc["ReadonlyPaths"]) == ("", [0, 0], None, [], "",
                                     ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                                      "/proc/sysrq-trigger"])
    assert list(rec["NetworkSettings"]) == _DOCKER_NETWORK_SETTINGS_KEYS
    assert rec["Config"]["Env"] is None
    gd = rec["GraphDriver"]
    assert gd["Name"] == "overlay" and list(gd["Data"]) == ["LowerDir", "MergedDir",
                                                              "UpperDir", "WorkDir"]
    assert os.path.isdir(gd["Data"]["UpperDir"]) and os.path.isdir(gd["Data"]["LowerDir"])
    assert _main(root, "create", "--name", "p-insp2", "--privileged", "--network", "none",
                 "bb:1", "true").code == 0
    [priv] = json.loads(_exe(root, "inspect", "p-insp2").stdout)
    assert (priv["HostConfig"]["MaskedPaths"], priv["HostConfig"]["ReadonlyPaths"]) == (None, None)
    assert _main(root, "rm", "p-insp", "p-insp2").code == 0


def test_kill_and_rm_refusals_in_dockerd_20_10s_words(root):
    """docker 20.10 (measured): kill of a container that is not running says `Cannot kill
    container: lc: Container <ID> is not running`; rm of a running one `You cannot remove a
    running container <ID>. Stop the container before attempting removal or force
    remove`; both exit 1 (the newer `cannot remove container "/x": container is running`
    wording came with docker 23)."""
    cid = _main(root, "create", "--name", "p-kill", "bb:1", "true").out.strip()
    r = _main(root, "kill", "p-kill")
    assert (r.code, r.err) == (1, f"skiff: Cannot kill container: p-kill: Container {cid} is "
                                  "not running\n")
    assert _main(root, "rm", "p-kill").code == 0
    cid = _main(root, "run", "-d", "--name", "p-rm", "--network", "none", "bb:1", "sleep",
                "60").out.strip()
    r = _main(root, "rm", "p-rm")
    assert (r.code, r.err) == (1, f"skiff: You cannot remove a running container {cid}. Stop "
                                  "the container before attempting removal or force remove\n")
    assert _main(root, "rm", "-f", "p-rm").code == 0
