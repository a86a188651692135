# roentgen — see README.md. `make test` is what CI runs.
GO        ?= go
STATICCHECK_VERSION ?= v0.8.2
# staticcheck from PATH, else where go install puts it
STATICCHECK ?= $(or $(shell command -v staticcheck),$(shell $(GO) env GOPATH)/bin/staticcheck)
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
REVISION  ?= $(shell git rev-parse HEAD 2>/dev/null)
LDFLAGS   := -X github.com/roentgen-dev/roentgen/internal/cli.Version=$(VERSION) -X github.com/roentgen-dev/roentgen/internal/cli.Revision=$(REVISION)
BIN       := bin/roentgen

.PHONY: build test test-neon test-arm64 lint staticcheck bench run fuzz clean

build:
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/roentgen

# test: formatting, vet, staticcheck, then every package's tests (including
# the pure-Go kernel twins under the noasm tag) and the arm64 assembly.
test: lint
	$(GO) test -count=1 ./...
	$(GO) test -count=1 -tags noasm ./internal/kernels/
	@$(MAKE) --no-print-directory test-neon

# test-neon: the tests of the arm64 assembly (products against naive loops,
# the fused additions, lane packing, fp16 decoding, attention and its softmax, SiLU, GELU,
# GroupNorm and LayerNorm, convolutions and the Winograd transforms bit for bit against
# their Go twins), built for linux/arm64 and run under qemu-aarch64 (~1-2
# minutes). Without qemu-aarch64 it says so and does nothing.
NEON_TESTS := ^(TestSgemm|TestSgemmF16B|TestGemmAPackingSameBits|TestLinear|TestLinearAdd|TestMicroKernelPanels|TestPanelLanesMatchesGo|TestTransposeTo|TestF16ToF32|TestMicroKernel|TestUseMicroKernel|TestAttention|TestSoftmaxColsTwin|TestActivations|TestActSameBitsAnywhere|TestGELUSweep|TestGEGLU|TestGeluMulIsGeluThenMul|TestGroupNorm|TestLayerNorm|TestMomentsPassesMatchGo|TestNormRowMatchesGo|TestConv2D|TestConv3x3Winograd|TestWinogradRunsMatchGo|TestWinogradFilterTapsMatchesGo|TestWinogradWeightBlock)$$
test-neon:
	@if ! command -v qemu-aarch64 >/dev/null; then echo "test-neon: no qemu-aarch64 (apt-get install qemu-user): NEON kernel not run"; exit 0; fi; \
	set -e; d=$$(mktemp -d); trap 'rm -rf $$d' EXIT; \
	GOARCH=arm64 $(GO) test -c -o $$d/kernels.test ./internal/kernels/; \
	cd internal/kernels && qemu-aarch64 $$d/kernels.test -test.count=1 -test.run '$(NEON_TESTS)'

# test-arm64: every package's tests built for linux/arm64 and run under
# qemu-aarch64 (Debian: apt-get install qemu-user), with the NEON
# micro-kernel and the pure-Go rest; ~25 minutes on 2 cores. Not part of
# `make test`.
test-arm64:
	@command -v qemu-aarch64 >/dev/null || { echo "test-arm64 needs qemu-aarch64 (apt-get install qemu-user)"; exit 1; }
	@set -e; for p in $$($(GO) list -f '{{if .TestGoFiles}}{{.Dir}}{{end}}' ./...); do \
	  echo "== $$p"; GOARCH=arm64 $(GO) test -c -o $$p/arm64.test $$p; \
	  (cd $$p && qemu-aarch64 ./arm64.test -test.count=1 -test.skip FullSize); rm -f $$p/arm64.test; done

lint: staticcheck
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed on:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags noasm ./internal/kernels/
	GOOS=darwin GOARCH=arm64 $(GO) vet ./...   # macOS (and the pure-Go kernels) must keep building
	GOOS=linux GOARCH=arm64 $(GO) vet ./...
	$(STATICCHECK) ./...

staticcheck:
	@test -x "$(STATICCHECK)" || $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

# bench: kernel and tokenizer benchmarks, then the pipeline bench on the
# full-size random-weight models when they exist (go run ./scripts/mkmodel).
BENCH_MODELS ?= models/random-sd15 models/random-sd21
bench: build
	$(GO) test -run '^$$' -bench . -benchtime 3x -cpu 1,2 ./internal/kernels/
	$(GO) test -run '^$$' -bench . ./internal/clip/
	@for m in $(BENCH_MODELS); do \
	  if [ -f $$m/model_index.json ]; then $(BIN) bench --model $$m --steps 3 --scaling; \
	  else echo "skipping $$m (generate it with go run ./scripts/mkmodel)"; fi; done

run:
	$(GO) run ./cmd/roentgen generate --prompt "Large right-sided pleural effusion." --seed 42 --out effusion.png

# fuzz: every fuzz target in turn, FUZZTIME each (the issue asks 10m before
# a release: make fuzz FUZZTIME=10m).
FUZZTIME ?= 60s
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./internal/weights/
	$(GO) test -run '^$$' -fuzz '^FuzzParseConfig$$' -fuzztime $(FUZZTIME) ./internal/unet/
	$(GO) test -run '^$$' -fuzz '^FuzzEncode$$' -fuzztime $(FUZZTIME) ./internal/clip/
	$(GO) test -run '^$$' -fuzz '^FuzzRead$$' -fuzztime $(FUZZTIME) ./internal/batch/

clean:
	rm -rf bin
