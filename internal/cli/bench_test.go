package cli

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/roentgen-dev/roentgen/internal/graph/ops"
	"github.com/roentgen-dev/roentgen/internal/kernels"
)

// benchJSON runs bench --json on tiny-sd1 with args and decodes the result.
func benchJSON(t *testing.T, args ...string) benchResult {
	t.Helper()
	out, errs, code := run(t, append([]string{"bench", "--model", "../../testdata/tiny-sd1", "--json"}, args...)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var r benchResult
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v in %q", err, out)
	}
	return r
}

// TestBenchJSONAndOps runs bench on a fixture with --ops and checks the
// report against itself: every stage timed, the per-op FLOPs adding up to
// the compiled networks' FLOPs, and the op labels naming the algorithms.
func TestBenchJSONAndOps(t *testing.T) {
	const steps = 3
	r := benchJSON(t, "--steps", "3", "--ops")
	if r.Width != 64 || r.Height != 64 || r.Steps != steps {
		t.Errorf("size %dx%d steps %d, want 64x64 and %d", r.Width, r.Height, r.Steps, steps)
	}
	for name, v := range map[string]float64{"text_encoder_s": r.TextEncoderS, "unet_step_s": r.UNetStepS,
		"vae_decode_s": r.VAEDecodeS, "unet_gflop_per_step": r.UNetGFLOPs, "vae_gflop": r.VAEGFLOPs} {
		if !(v > 0) {
			t.Errorf("%s = %v, want > 0", name, v)
		}
	}
	if r.PeakRSSBytes <= 0 {
		t.Errorf("peak_rss_bytes = %d", r.PeakRSSBytes)
	}
	if want := r.TextEncoderS + 25*r.UNetStepImageS + r.VAEDecodeS; r.Image25S != want || r.Image75S <= r.Image25S {
		t.Errorf("image_25_steps_s %v (want %v), image_75_steps_s %v", r.Image25S, want, r.Image75S)
	}
	if r.MicroKernel != kernels.MicroKernel() {
		t.Errorf("micro_kernel = %q, want %q", r.MicroKernel, kernels.MicroKernel())
	}
	if info, _ := os.ReadFile("/proc/cpuinfo"); r.CPU == "" && bytes.Contains(info, []byte("model name")) || strings.ContainsAny(r.CPU, ":\n") {
		t.Errorf("cpu = %q", r.CPU)
	}
	sum := func(ts []ops.OpTime) (flops int64, labels string) {
		for _, o := range ts {
			flops += o.FLOPs
			labels += o.Label + ";"
		}
		return
	}
	uf, ul := sum(r.UNetOps)
	vf, vl := sum(r.VAEOps)
	// Each guided step is one run of the batch-2 U-Net program; the first
	// also projects the prompt's keys and values.
	if !(r.UNetGFLOPsOnce > 0) {
		t.Errorf("unet_gflop_once = %v, want > 0", r.UNetGFLOPsOnce)
	}
	if want := (r.UNetGFLOPs*steps + r.UNetGFLOPsOnce) * 1e9; math.Abs(float64(uf)-want) > 1e-6*want {
		t.Errorf("U-Net ops add up to %d FLOPs over %d steps, the program has %.0f per step and %.0f once", uf, steps, r.UNetGFLOPs*1e9, r.UNetGFLOPsOnce*1e9)
	}
	if want := r.VAEGFLOPs * 1e9; math.Abs(float64(vf)-want) > 1e-6*want {
		t.Errorf("VAE ops add up to %d FLOPs, the program has %.0f", vf, want)
	}
	for _, l := range []string{"Attention;", "Linear;", "GroupNorm;", "Conv2D 3x3 "} {
		if !strings.Contains(ul, l) || !strings.Contains(vl, l) {
			t.Errorf("op %q missing: U-Net %s VAE %s", l, ul, vl)
		}
	}
}

// TestBenchOpsShapes checks that --ops-shapes splits the op kinds by
// operand shape without losing or double-counting any op.
func TestBenchOpsShapes(t *testing.T) {
	r := benchJSON(t, "--steps", "2", "--ops-shapes")
	var flops int64
	linear := map[string]bool{}
	for _, o := range r.UNetOps {
		flops += o.FLOPs
		if strings.HasPrefix(o.Label, "Linear ") {
			linear[o.Label] = true
		}
	}
	if want := (r.UNetGFLOPs*2 + r.UNetGFLOPsOnce) * 1e9; math.Abs(float64(flops)-want) > 1e-6*want {
		t.Errorf("U-Net ops by shape add up to %d FLOPs over 2 steps, the program has %.0f per step and %.0f once", flops, r.UNetGFLOPs*1e9, r.UNetGFLOPsOnce*1e9)
	}
	// tiny-sd1's transformer projections (batch 2 of 8x8 latents, width 16)
	// and its cross-attention keys (2 prompts of 77 tokens, width 32).
	for _, l := range []string{"Linear 128x16->16", "Linear 154x32->16"} {
		if !linear[l] {
			t.Errorf("no %q among %v", l, linear)
		}
	}
}

// TestBenchBatchSize checks --batch-size: the guided step's program grows
// with the batch, the per-image step is the step over the batch size, the
// VAE figures stay per image, and a size below 1 is a usage error.
func TestBenchBatchSize(t *testing.T) {
	one := benchJSON(t, "--steps", "2")
	two := benchJSON(t, "--steps", "2", "--batch-size", "2")
	if one.BatchSize != 1 || two.BatchSize != 2 {
		t.Errorf("batch_size %d and %d, want 1 and 2", one.BatchSize, two.BatchSize)
	}
	if r := two.UNetGFLOPs / one.UNetGFLOPs; math.Abs(r-2) > 1e-9 {
		t.Errorf("U-Net GFLOP per step at batch 2 is %.4fx batch 1's, want 2x", r)
	}
	if two.VAEGFLOPs != one.VAEGFLOPs {
		t.Errorf("VAE GFLOP %v at batch 2, %v at batch 1: want the same (one image)", two.VAEGFLOPs, one.VAEGFLOPs)
	}
	if want := two.UNetStepS / 2; math.Abs(two.UNetStepImageS-want) > 1e-12 {
		t.Errorf("unet_step_per_image_s = %v, want %v", two.UNetStepImageS, want)
	}
	if one.UNetStepImageS != one.UNetStepS {
		t.Errorf("batch 1: unet_step_per_image_s %v != unet_step_s %v", one.UNetStepImageS, one.UNetStepS)
	}
	_, errs, code := run(t, "bench", "--model", "../../testdata/tiny-sd1", "--batch-size", "0")
	if code == 0 || !strings.Contains(errs, "--batch-size must be between 1 and 4096, got 0") {
		t.Errorf("--batch-size 0: exit %d, stderr %q", code, errs)
	}
}

// TestBenchScaling checks bench --scaling's projection for consistency: a
// time for each listed thread count, never rising with more threads, never
// below the time outside parallel loops, and never more than n times
// faster than one thread.
func TestBenchScaling(t *testing.T) {
	r := benchJSON(t, "--steps", "3", "--scaling")
	s := r.Scaling
	if s == nil || len(s.Threads) != len(scalingThreads) || len(s.UNetStepS) != len(s.Threads) || len(s.VAEDecodeS) != len(s.Threads) {
		t.Fatalf("scaling = %+v, want times for threads %v", s, scalingThreads)
	}
	for _, row := range []struct {
		name   string
		s      []float64
		serial float64
	}{{"U-Net", s.UNetStepS, s.UNetSerialS}, {"VAE", s.VAEDecodeS, s.VAESerialS}} {
		if !(row.serial >= 0) {
			t.Errorf("%s: time outside loops %v", row.name, row.serial)
		}
		for i, v := range row.s {
			n := float64(s.Threads[i])
			switch {
			case !(v > 0) || v < row.serial:
				t.Errorf("%s: %v s on %v threads, outside loops %v s", row.name, v, n, row.serial)
			case i > 0 && v > row.s[i-1]:
				t.Errorf("%s: %v s on %v threads, more than %v s on %d", row.name, v, n, row.s[i-1], s.Threads[i-1])
			case v*n < row.s[0]*(1-1e-9):
				t.Errorf("%s: %v s on %v threads, more than %v times faster than %v s on one", row.name, v, n, n, row.s[0])
			}
		}
	}
	// The itemised losses add up to the projection on lossThreads threads
	// less its even share of the one-thread time.
	i16 := slices.Index(s.Threads, lossThreads)
	for _, row := range []struct {
		name   string
		s      []float64
		serial float64
		ls     []kernelLoss
	}{{"U-Net", s.UNetStepS, s.UNetSerialS, s.UNetLoss}, {"VAE", s.VAEDecodeS, s.VAESerialS, s.VAELoss}} {
		sum := 0.0
		for i, l := range row.ls {
			if l.Func == "" || l.Seconds < 0 || i > 0 && l.Seconds > row.ls[i-1].Seconds {
				t.Errorf("%s loss %d: %+v (after %+v)", row.name, i, l, row.ls[max(i-1, 0)])
			}
			sum += l.Seconds
		}
		want := row.s[i16] - row.serial - (row.s[0]-row.serial)/lossThreads
		if len(row.ls) == 0 || math.Abs(sum-want) > 1e-6*row.s[0]+1e-9 {
			t.Errorf("%s: losses %+v add up to %v s, want %v", row.name, row.ls, sum, want)
		}
	}
	if _, errs, code := run(t, "bench", "--model", "../../testdata/tiny-sd1", "--steps", "1", "--scaling"); code != 2 || !strings.Contains(errs, "--steps 2") {
		t.Errorf("--scaling --steps 1: exit %d, %q; want a usage error naming --steps 2", code, errs)
	}
}
