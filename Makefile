# roentgen — see README.md. `make test` is what CI runs.
GO        ?= go
STATICCHECK_VERSION ?= v0.8.2
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X github.com/roentgen-dev/roentgen/internal/cli.Version=$(VERSION)
BIN       := bin/roentgen

.PHONY: build test lint staticcheck bench run fuzz clean

build:
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/roentgen

# test: formatting, vet, staticcheck, then every package's tests (including
# the pure-Go kernel twins under the noasm tag).
test: lint
	$(GO) test -count=1 ./...
	$(GO) test -count=1 -tags noasm ./internal/kernels/

lint: staticcheck
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed on:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags noasm ./internal/kernels/
	staticcheck ./...

staticcheck:
	@command -v staticcheck >/dev/null || $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

bench: build
	$(GO) test -run '^$$' -bench . -benchtime 3x ./internal/kernels/ ./internal/clip/

run:
	$(GO) run ./cmd/roentgen generate --prompt "Large right-sided pleural effusion." --seed 42 --out effusion.png

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzEncode -fuzztime 60s ./internal/clip/

clean:
	rm -rf bin
