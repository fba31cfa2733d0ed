# The desktop app (Wails): its binary, its real-window smoke test and the installers.
#
#   make build          also builds build/bin/mcpwatch (the window, the UI embedded)
#   make test-desktop   the real-window smoke test under Xvfb (part of make test)
#   make dist           build/bin/: the .deb, a .tar.gz, the Windows exe and its NSIS installer
#
# The Wails CLI and nfpm are built from the tools module pinned in build/tools (go.mod there).

TOOLS_BIN := $(BIN)/tools
WAILS     := $(TOOLS_BIN)/wails
NFPM      := $(TOOLS_BIN)/nfpm

ifeq ($(shell uname -s),Darwin)
DESKTOP_TAGS := desktop,production
DESKTOP_APT  :=
else
# webkit2_41: Debian 12 and later ship WebKitGTK 4.1 only; every build of the window needs it.
DESKTOP_TAGS := desktop,production,webkit2_41
DESKTOP_APT  := gcc libc6-dev pkg-config libgtk-3-dev libwebkit2gtk-4.1-dev
endif
SMOKE_APT := xvfb xauth imagemagick
NSIS_APT  := nsis

# A Debian version must start with a digit: v1.2.3 → 1.2.3, a bare commit → 0.0.0~g<commit>.
DEB_VERSION := $(shell v='$(VERSION)'; v=$${v#v}; echo "$$v" | grep -q '^[0-9]' || v="0.0.0~g$$v"; echo "$$v" | tr -c 'A-Za-z0-9.+~\n' '~')
DEB     := $(BIN)/mcpwatch_$(DEB_VERSION)_amd64.deb
TARBALL := $(BIN)/mcpwatch-$(DEB_VERSION)-linux-amd64.tar.gz
WIN_EXE := $(BIN)/mcpwatch.exe
WIN_NSIS := $(BIN)/mcpwatch-amd64-installer.exe

.PHONY: desktop desktop-deps tools test-desktop dist deb tarball windows

TEST_TARGETS += test-desktop

# ---- tools ----------------------------------------------------------------------------------

$(WAILS) $(NFPM) &: build/tools/go.mod build/tools/go.sum
	cd build/tools && GOBIN=$(CURDIR)/$(TOOLS_BIN) CGO_ENABLED=0 $(GO) install tool
	touch $(WAILS) $(NFPM)

tools: $(WAILS) $(NFPM)

desktop-deps:
	@$(APT) $(DESKTOP_APT)

# ---- the desktop binary ---------------------------------------------------------------------

$(BIN)/mcpwatch: $(GO_SOURCES) frontend/dist/index.html build/appicon.png | desktop-deps
	CGO_ENABLED=1 $(GO) build -tags $(DESKTOP_TAGS) -trimpath -ldflags "$(LDFLAGS)" -o $@ .

desktop: $(BIN)/mcpwatch
build: $(BIN)/mcpwatch

# ---- tests ----------------------------------------------------------------------------------

# The window under Xvfb with its self-test (see build/scripts/desktop-smoke.sh); leaves
# build/bin/desktop-smoke.{json,png,log} and desktop-corrupt.png.
test-desktop: $(BIN)/mcpwatch
	@$(APT) $(SMOKE_APT)
	build/scripts/desktop-smoke.sh $(BIN)/mcpwatch $(BIN)

# ---- installers -----------------------------------------------------------------------------

dist: deb tarball windows
	@ls -l $(DEB) $(TARBALL) $(WIN_EXE) $(WIN_NSIS)

deb: $(DEB)
$(DEB): $(BIN)/mcpwatch build/linux/nfpm.yaml build/linux/mcpwatch.desktop build/linux/mcpwatch-256.png $(NFPM)
	rm -f $(BIN)/mcpwatch_*_amd64.deb
	VERSION=$(DEB_VERSION) $(NFPM) package --config build/linux/nfpm.yaml --packager deb --target $@

tarball: $(TARBALL)
$(TARBALL): $(BIN)/mcpwatch build/linux/mcpwatch.desktop build/appicon.png build/INSTALL.md
	rm -f $(BIN)/mcpwatch-*-linux-amd64.tar.gz
	tar -czf $@ --owner=0 --group=0 --transform 's,^.*/,mcpwatch-$(DEB_VERSION)/,' \
	  $(BIN)/mcpwatch build/linux/mcpwatch.desktop build/linux/mcpwatch-256.png build/INSTALL.md

# Cross-built here: WebView2 needs no cgo. -s: the frontend is built by make; -skipbindings:
# the UI calls window.go directly. Wails writes build/windows/* (icon, manifest, installer
# scripts) when they are missing; they are committed.
windows: $(WIN_NSIS)
$(WIN_EXE) $(WIN_NSIS) &: $(GO_SOURCES) frontend/dist/index.html build/appicon.png wails.json $(WAILS)
	@$(APT) $(NSIS_APT)
	PATH="$(CURDIR)/$(TOOLS_BIN):$$PATH" $(WAILS) build -platform windows/amd64 -nsis -s -skipbindings \
	  -trimpath -m -nosyncgomod -ldflags "-X main.version=$(VERSION)" -o mcpwatch.exe
	rm -rf build/windows/installer/tmp
	test -f $(WIN_EXE) && test -f $(WIN_NSIS)

# ---- the installers, checked in make test ---------------------------------------------------

# Builds the .deb and the Windows installer, installs the .deb with apt (as CI does on its fresh
# machine), checks that its binary answers --version, and removes it again.
test-dist: deb windows
	@if dpkg-query -W -f='$${Status}' mcpwatch 2>/dev/null | grep -q "install ok installed"; then \
	  echo "test-dist: mcpwatch is installed on this machine already; not replacing it"; exit 0; fi; \
	  sudo=""; [ "$$(id -u)" = 0 ] || sudo=sudo; \
	  $$sudo apt-get install -y -qq ./$(DEB) >/dev/null && \
	  out=$$(/usr/bin/mcpwatch --version) && echo "installed .deb: $$out" && \
	  case "$$out" in "mcpwatch "?*) ;; *) echo "unexpected --version: $$out"; exit 1;; esac; \
	  status=$$?; $$sudo apt-get remove -y -qq mcpwatch >/dev/null; exit $$status
	@test -s $(WIN_NSIS) && echo "windows installer: $(WIN_NSIS)"

TEST_TARGETS += test-dist
