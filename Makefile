# The two commands of the README, and their parts.
.PHONY: demo test build deps clean

SWIFT ?= swift

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

clean:
	rm -rf .build demo-out
