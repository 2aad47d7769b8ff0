# The two commands of the README, and their parts.
.PHONY: demo test build deps clean install builtin-mappings

SWIFT ?= swift
# `make install PREFIX=DIR` puts porter in DIR/bin. CONFIG=debug builds faster, runs slower.
PREFIX ?= /usr/local
CONFIG ?= release
# e.g. SWIFTFLAGS=--static-swift-stdlib for a binary that needs no Swift runtime libraries.
SWIFTFLAGS ?=

deps:
	@scripts/install-deps.sh

build: deps
	$(SWIFT) build

# Runs the main job on a bundled example: convert, verify, report.
demo: deps
	$(SWIFT) build --product porter
	scripts/demo.sh

test: deps
	$(SWIFT) test

# Builds porter and copies the binary alone: the shipped mappings are compiled in.
install: deps
	$(SWIFT) build -c $(CONFIG) --product porter $(SWIFTFLAGS)
	install -d "$(PREFIX)/bin"
	install -m 755 "$$($(SWIFT) build -c $(CONFIG) --show-bin-path)/porter" "$(PREFIX)/bin/porter"
	@echo "installed $(PREFIX)/bin/porter"

# After editing mappings/*.json: regenerate their compiled-in copy (a test checks they agree).
builtin-mappings:
	scripts/gen-builtin-mappings.sh

clean:
	rm -rf .build demo-out
