# skiff: `make demo` (main job) and `make test` (the suite) each install what they need on a
# fresh Debian 12 machine as root.
PY      ?= /usr/bin/python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMPS  := .cache
APT_PKGS := python3-venv python3-pip runc busybox-static skopeo umoci docker-registry tini \
            golang-github-containers-common iproute2 nftables iptables debootstrap \
            xz-utils bzip2 zstd curl ca-certificates procps docker.io podman apache2-utils openssl \
            gcc libc6-dev

.PHONY: deps venv compile test test-fast demo bench lint clean

$(STAMPS)/apt.stamp:
	mkdir -p $(STAMPS)
	# apt-get update takes the lists lock without waiting (DPkg::Lock::Timeout covers the
	# dpkg lock only on this apt): retry while another apt (a second make, the daily job) holds it
	for i in $$(seq 1 60); do apt-get update -q -o DPkg::Lock::Timeout=600 && exit 0; \
	  sleep 5; done; exit 1
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o DPkg::Lock::Timeout=600 --no-install-recommends $(APT_PKGS)
	touch $@

$(BIN)/.installed: pyproject.toml $(STAMPS)/apt.stamp
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

# Byte-compile skiff so start-up never pays for compiling (PYTHONDONTWRITEBYTECODE may be set).
compile: venv
	$(BIN)/python -m compileall -q src >/dev/null

deps: $(STAMPS)/apt.stamp
venv: $(BIN)/.installed

test: compile
	PATH=/usr/local/go/bin:$$PATH $(BIN)/python -m pytest -q -p no:cacheprovider tests

test-fast: venv
	$(BIN)/python -m pytest -q -m "not slow" tests/unit

demo: compile
	PATH=$(CURDIR)/$(BIN):$$PATH bash examples/demo.sh

bench: compile
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/python -m benchmarks

lint: venv
	$(BIN)/ruff check src tests

clean:
	rm -rf $(VENV) $(STAMPS) build *.egg-info
