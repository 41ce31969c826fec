"""The Engine API structs ``docker inspect -f`` templates run on, as gotemplate.GoStruct views.

docker/cli's inspect runs a template on the typed object first (types.ContainerJSON,
types.NetworkResource, types.Volume): a field the struct has reads as its value, or as
Go's zero value when the JSON left it out (omitempty: ``{{.Node}}`` is ``<nil>``), and a
name it lacks fails. Container and network inspect then retry on the raw JSON with
``missingkey=error`` (gotemplate.render_inspect), so their message is ``map has no entry
for key "Foo"``; ``docker volume inspect`` has no raw retry: ``can't evaluate field Foo in
type types.Volume``. Go maps (Labels, Options, Networks, ...) stay dicts: a key they lack
is ``<no value>``. Field lists are docker 20.10's (API 1.41).

:func:`container_view`, :func:`network_view`, :func:`volume_view`: ``(obj) -> GoStruct``.
"""

from __future__ import annotations

from collections.abc import Mapping

from skiff.format.gofmt import NilMap, NilSlice
from skiff.format.gotemplate import GoStruct

__all__ = ["container_view", "network_view", "volume_view", "CONFIG_ZERO", "typed_config",
           "field_names"]

# One struct: (field names, {field: zero value when the JSON omits it}, {field: nested
# struct name, or "[name]" for a slice of / "{name}" for a map of that struct}).
_Struct = tuple[tuple[str, ...], Mapping[str, object], Mapping[str, str]]

_STRUCTS: dict[str, _Struct] = {
    "ContainerJSON": (
        ("Id", "Created", "Path", "Args", "State", "Image", "ResolvConfPath", "HostnamePath",
         "HostsPath", "LogPath", "Node", "Name", "RestartCount", "Driver", "Platform",
         "MountLabel", "ProcessLabel", "AppArmorProfile", "ExecIDs", "HostConfig",
         "GraphDriver", "SizeRw", "SizeRootFs", "Mounts", "Config", "NetworkSettings"),
        {"Node": None, "SizeRw": None, "SizeRootFs": None},
        {"State": "ContainerState", "HostConfig": "HostConfig", "GraphDriver": "GraphDriver",
         "Mounts": "[MountPoint]", "Config": "Config", "NetworkSettings": "NetworkSettings"}),
    "ContainerState": (
        ("Status", "Running", "Paused", "Restarting", "OOMKilled", "Dead", "Pid", "ExitCode",
         "Error", "StartedAt", "FinishedAt", "Health"),
        {"Health": None}, {"Health": "Health"}),
    "Health": (("Status", "FailingStreak", "Log"), {}, {"Log": "[HealthcheckResult]"}),
    "HealthcheckResult": (("Start", "End", "ExitCode", "Output"), {}, {}),
    "Config": (
        ("Hostname", "Domainname", "User", "AttachStdin", "AttachStdout", "AttachStderr",
         "ExposedPorts", "Tty", "OpenStdin", "StdinOnce", "Env", "Cmd", "Healthcheck",
         "ArgsEscaped", "Image", "Volumes", "WorkingDir", "Entrypoint", "NetworkDisabled",
         "MacAddress", "OnBuild", "Labels", "StopSignal", "StopTimeout", "Shell"),
        {"ExposedPorts": {}, "Healthcheck": None, "ArgsEscaped": False,
         "NetworkDisabled": False, "MacAddress": "", "StopSignal": "", "StopTimeout": None,
         "Shell": []},
        {"Healthcheck": "HealthConfig"}),
    "HealthConfig": (("Test", "Interval", "Timeout", "StartPeriod", "Retries"), {}, {}),
    "HostConfig": (
        ("Binds", "ContainerIDFile", "LogConfig", "NetworkMode", "PortBindings",
         "RestartPolicy", "AutoRemove", "VolumeDriver", "VolumesFrom", "CapAdd", "CapDrop",
         "CgroupnsMode", "Dns", "DnsOptions", "DnsSearch", "ExtraHosts", "GroupAdd",
         "IpcMode", "Cgroup", "Links", "OomScoreAdj", "PidMode", "Privileged",
         "PublishAllPorts", "ReadonlyRootfs", "SecurityOpt", "StorageOpt", "Tmpfs",
         "UTSMode", "UsernsMode", "ShmSize", "Sysctls", "Runtime", "ConsoleSize",
         "Isolation", "CpuShares", "Memory", "NanoCpus", "CgroupParent", "BlkioWeight",
         "BlkioWeightDevice", "BlkioDeviceReadBps", "BlkioDeviceWriteBps",
         "BlkioDeviceReadIOps", "BlkioDeviceWriteIOps", "CpuPeriod", "CpuQuota",
         "CpuRealtimePeriod", "CpuRealtimeRuntime", "CpusetCpus", "CpusetMems", "Devices",
         "DeviceCgroupRules", "DeviceRequests", "KernelMemory", "KernelMemoryTCP",
         "MemoryReservation", "MemorySwap", "MemorySwappiness", "OomKillDisable",
         "PidsLimit", "Ulimits", "CpuCount", "CpuPercent", "IOMaximumIOps",
         "IOMaximumBandwidth", "Mounts", "MaskedPaths", "ReadonlyPaths", "Init"),
        {"StorageOpt": {}, "Tmpfs": {}, "Sysctls": {}, "Mounts": [], "Init": None,
         # zero values (nil slices print [], nil pointers <nil>)
         "Cgroup": "", "CgroupParent": "", "CpusetMems": "", "Isolation": "", "Links": [],
         "OomScoreAdj": 0, "ConsoleSize": [0, 0], "BlkioWeightDevice": [],
         "BlkioDeviceReadIOps": [], "BlkioDeviceWriteIOps": [], "CpuPeriod": 0,
         "CpuQuota": 0, "CpuRealtimePeriod": 0, "CpuRealtimeRuntime": 0,
         "DeviceCgroupRules": [], "DeviceRequests": [], "KernelMemory": 0,
         "KernelMemoryTCP": 0, "MemoryReservation": 0, "MemorySwappiness": None,
         "OomKillDisable": False, "CpuCount": 0, "CpuPercent": 0, "IOMaximumIOps": 0,
         "IOMaximumBandwidth": 0},
        {"LogConfig": "LogConfig", "RestartPolicy": "RestartPolicy"}),
    "LogConfig": (("Type", "Config"), {}, {}),
    "RestartPolicy": (("Name", "MaximumRetryCount"), {}, {}),
    "GraphDriver": (("Data", "Name"), {}, {}),
    "MountPoint": (("Type", "Name", "Source", "Destination", "Driver", "Mode", "RW",
                    "Propagation"), {"Name": "", "Driver": ""}, {}),
    "NetworkSettings": (
        ("Bridge", "SandboxID", "HairpinMode", "LinkLocalIPv6Address",
         "LinkLocalIPv6PrefixLen", "Ports", "SandboxKey", "SecondaryIPAddresses",
         "SecondaryIPv6Addresses", "EndpointID", "Gateway", "GlobalIPv6Address",
         "GlobalIPv6PrefixLen", "IPAddress", "IPPrefixLen", "IPv6Gateway", "MacAddress",
         "Networks"),
        {"Bridge": "", "SandboxID": "", "HairpinMode": False, "LinkLocalIPv6Address": "",
         "LinkLocalIPv6PrefixLen": 0, "SecondaryIPAddresses": [], "SecondaryIPv6Addresses": [],
         "EndpointID": "", "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0,
         "IPPrefixLen": 0, "IPv6Gateway": ""},
        {"Networks": "{EndpointSettings}"}),
    "EndpointSettings": (
        ("IPAMConfig", "Links", "Aliases", "NetworkID", "EndpointID", "Gateway", "IPAddress",
         "IPPrefixLen", "IPv6Gateway", "GlobalIPv6Address", "GlobalIPv6PrefixLen",
         "MacAddress", "DriverOpts"),
        {}, {}),
    "NetworkResource": (
        ("Name", "Id", "Created", "Scope", "Driver", "EnableIPv6", "IPAM", "Internal",
         "Attachable", "Ingress", "ConfigFrom", "ConfigOnly", "Containers", "Options",
         "Labels", "Peers", "Services"),
        {"Peers": [], "Services": {}},
        {"IPAM": "IPAM", "ConfigFrom": "ConfigReference", "Containers": "{EndpointResource}"}),
    "IPAM": (("Driver", "Options", "Config"), {}, {}),
    "ConfigReference": (("Network",), {}, {}),
    "EndpointResource": (("Name", "EndpointID", "MacAddress", "IPv4Address", "IPv6Address"),
                         {}, {}),
    "Volume": (
        ("CreatedAt", "Driver", "Labels", "Mountpoint", "Name", "Options", "Scope", "Status",
         "UsageData"),
        {"CreatedAt": "", "Status": {}, "UsageData": None}, {"UsageData": "UsageData"}),
    "UsageData": (("RefCount", "Size"), {}, {}),
}


def field_names(struct: str) -> tuple[str, ...]:
    """The JSON field names of docker 20.10's struct ``struct`` (``"HostConfig"``,
    ``"NetworkSettings"``, ...), in encoding/json's order.

    Raises:
        KeyError: a struct not described here."""
    return _STRUCTS[struct][0]


def typed_config(value: object) -> object:
    """An image's Config / ContainerConfig (container.Config) for a typed template run."""
    return _view(value, "Config", None)


# container.Config's zero values for the fields its JSON omits (image inspect's Config too)
CONFIG_ZERO: Mapping[str, object] = _STRUCTS["Config"][1]


# The fields of map type (a JSON null is a nil map: ``map[]``) and of pointer type (null is
# ``<nil>``); any other field that can be null is a slice (a nil slice prints ``[]``).
_MAPS = frozenset({
    "Config.ExposedPorts", "Config.Volumes", "Config.Labels", "HostConfig.PortBindings",
    "HostConfig.StorageOpt", "HostConfig.Tmpfs", "HostConfig.Sysctls", "LogConfig.Config",
    "NetworkSettings.Ports", "NetworkSettings.Networks", "GraphDriver.Data",
    "EndpointSettings.DriverOpts", "NetworkResource.Containers", "NetworkResource.Options",
    "NetworkResource.Labels", "NetworkResource.Services", "IPAM.Options", "Volume.Labels",
    "Volume.Options", "Volume.Status"})
_POINTERS = frozenset({
    "ContainerJSON.Node", "ContainerJSON.SizeRw", "ContainerJSON.SizeRootFs",
    "ContainerJSON.State", "ContainerJSON.HostConfig", "ContainerJSON.Config",
    "ContainerJSON.NetworkSettings", "ContainerState.Health", "Config.Healthcheck",
    "Config.StopTimeout", "HostConfig.MemorySwappiness", "HostConfig.OomKillDisable",
    "HostConfig.PidsLimit", "HostConfig.Init", "EndpointSettings.IPAMConfig",
    "Volume.UsageData"})
# Structs with embedded ones (printed nested by Go's %v) keep printing as maps.
_UNORDERED = frozenset({"ContainerJSON", "HostConfig", "NetworkSettings"})


def _null(struct: str, field: str) -> object:
    """The typed value of a JSON null in ``struct``'s ``field``."""
    key = f"{struct}.{field}"
    if key in _POINTERS:
        return None
    return NilMap() if key in _MAPS else NilSlice()


def _view(value: object, struct: str, go_type: str | None) -> object:
    """``value`` (JSON-shaped) as struct ``struct`` ("[S]" a slice of, "{S}" a map of)."""
    if struct.startswith("["):
        inner = struct[1:-1]
        return [_view(v, inner, go_type) for v in value] if isinstance(value, list) else value
    if struct.startswith("{"):
        inner = struct[1:-1]
        return ({k: _view(v, inner, go_type) for k, v in value.items()}
                if isinstance(value, dict) else value)
    if not isinstance(value, dict):
        return value
    fields, zero, nested = _STRUCTS[struct]
    data = {k: (_null(struct, k) if v is None else _view(v, nested[k], go_type) if k in nested
                else v) for k, v in value.items()}
    return GoStruct(data, fields, defaults=zero, ordered=struct not in _UNORDERED,
                    struct_type=f"{go_type}.{struct}" if go_type else None)


def container_view(obj: Mapping[str, object]) -> GoStruct:
    """``docker inspect``'s container (types.ContainerJSON) for a template's typed run."""
    return _view(obj, "ContainerJSON", None)  # type: ignore[return-value]


def network_view(obj: Mapping[str, object]) -> GoStruct:
    """``docker network inspect``'s network (types.NetworkResource), typed run."""
    return _view(obj, "NetworkResource", None)  # type: ignore[return-value]


def volume_view(obj: Mapping[str, object]) -> GoStruct:
    """``docker volume inspect``'s volume (types.Volume): with no raw retry, a field it
    lacks is ``can't evaluate field Foo in type types.Volume``."""
    return _view(obj, "Volume", "types")  # type: ignore[return-value]
