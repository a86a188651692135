package cli

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/roentgen-dev/roentgen/internal/graph/ops"
)

// TestBenchJSONAndOps runs bench on a fixture with --ops and checks the
// report against itself: every stage timed, the per-op FLOPs adding up to
// the compiled networks' FLOPs, and the op labels naming the algorithms.
func TestBenchJSONAndOps(t *testing.T) {
	const steps = 3
	out, errs, code := run(t, "bench", "--model", "../../testdata/tiny-sd1", "--steps", "3", "--json", "--ops")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var r benchResult
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v in %q", err, out)
	}
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
	sum := func(ts []ops.OpTime) (flops int64, labels string) {
		for _, o := range ts {
			flops += o.FLOPs
			labels += o.Label + ";"
		}
		return
	}
	uf, ul := sum(r.UNetOps)
	vf, vl := sum(r.VAEOps)
	// Each guided step is one run of the batch-2 U-Net program.
	if want := r.UNetGFLOPs * 1e9 * steps; math.Abs(float64(uf)-want) > 1e-6*want {
		t.Errorf("U-Net ops add up to %d FLOPs over %d steps, the program has %.0f per step", uf, steps, r.UNetGFLOPs*1e9)
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
