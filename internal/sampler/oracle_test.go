package sampler

import (
	"fmt"
	"math"
	"testing"
)

// An oracle test: for data that is a single point x0 and a fixed noise ε,
// the forward process gives x_t = √ᾱ_t·x0 + √(1-ᾱ_t)·ε (DDPM, eq. 4) or, in
// k-diffusion's σ-space, x = x0 + σ·ε (Karras et al. 2022, eq. 1 with
// x/√(σ²+1) fed to the model). A model that returns the exact ε, x0, or
// v = √ᾱ·ε - √(1-ᾱ)·x0 (Salimans & Ho 2022, §4) makes every sampler here
// follow that curve exactly, so each step must land on it again:
//   - DDIM η=0 (eq. 12) and PNDM's φ (eq. 9) are exact for the true ε, and
//     every PLMS combination of identical ε is that ε;
//   - Euler: d = (x - x0)/σ = ε, so x + ε·(σ' - σ) = x0 + σ'·ε; LMS sums
//     Lagrange weights that integrate to σ' - σ;
//   - DPM-Solver++ first order: x' = (σ'/σ)x - α'(e^{-h} - 1)x0 = α'x0 + σ'ε,
//     and D1 = 0 because every x̂₀ is x0;
//   - Euler ancestral with zero noise lands on x0 + σ_down·ε.
//
// PNDM with v_prediction is checked on its first call only: later calls
// average v's taken at different timesteps before converting them (as
// diffusers does), which is not exact for any model.
// This covers v_prediction and sample for DDIM, Euler, DPM and the others,
// set_alpha_to_one (the last DDIM step returns x0 exactly) and Karras σ.
func TestOracleTrajectories(t *testing.T) {
	x0 := []float32{0.3, -1.2, 0.8, 0.05}
	eps := []float32{-0.7, 0.4, 1.3, -2.1}
	const sd = `"beta_schedule": "scaled_linear", "beta_start": 0.00085, "beta_end": 0.012, "steps_offset": 1`
	for _, tc := range []struct {
		name, cfg string
		n         int
		calls     int // calls to check; 0 = all
	}{
		{"ddim", `"prediction_type": "epsilon", "clip_sample": false`, 10, 0},
		{"ddim", `"prediction_type": "v_prediction", "clip_sample": false, "set_alpha_to_one": true`, 10, 0},
		{"ddim", `"prediction_type": "sample", "clip_sample": false, "set_alpha_to_one": false`, 7, 0},
		{"ddim", `"prediction_type": "v_prediction", "clip_sample": false, "timestep_spacing": "trailing", "rescale_betas_zero_snr": true`, 8, 0},
		{"pndm", `"prediction_type": "v_prediction"`, 10, 1},
		{"pndm-prk", `"prediction_type": "epsilon", "set_alpha_to_one": true`, 10, 0},
		{"euler", `"prediction_type": "v_prediction"`, 12, 0},
		{"euler", `"prediction_type": "sample", "use_karras_sigmas": true`, 12, 0},
		{"euler", `"prediction_type": "epsilon", "interpolation_type": "log_linear", "timestep_spacing": "trailing"`, 12, 0},
		{"euler-a", `"prediction_type": "v_prediction", "timestep_spacing": "leading"`, 12, 0},
		{"lms", `"prediction_type": "v_prediction"`, 12, 0},
		{"lms", `"prediction_type": "epsilon", "use_karras_sigmas": true`, 20, 0},
		{"dpm++2m", `"prediction_type": "v_prediction"`, 12, 0},
		{"dpm++2m-karras", `"prediction_type": "sample", "timestep_spacing": "trailing"`, 20, 0},
		{"DPMSolverMultistepScheduler", `"prediction_type": "epsilon", "solver_order": 3, "algorithm_type": "dpmsolver"`, 20, 0},
		{"DPMSolverMultistepScheduler", `"prediction_type": "v_prediction", "solver_type": "heun", "use_lu_lambdas": true`, 16, 0},
		// diffusers 0.26 and later: the last σ 0 (so x0 itself, through a
		// first-order last step; the second order would give 0/0 there).
		{"dpm++2m", `"prediction_type": "epsilon", "final_sigmas_type": "zero"`, 20, 0},
		{"dpm++2m-karras", `"prediction_type": "v_prediction", "final_sigmas_type": "zero"`, 20, 0},
		{"dpm++2m-karras", `"prediction_type": "epsilon", "final_sigmas_type": "sigma_min", "sigma_min": 0.5`, 20, 0},
		{"euler", `"prediction_type": "epsilon", "final_sigmas_type": "sigma_min"`, 12, 0},
	} {
		t.Run(fmt.Sprintf("%s/%s", tc.name, tc.cfg), func(t *testing.T) {
			cfg := mustParse(t, "{"+sd+", "+tc.cfg+"}")
			s, err := New(tc.name, cfg, tc.n, Options{})
			if err != nil {
				t.Fatal(err)
			}
			class := variants[tc.name].class
			if class == "" {
				class = tc.name
			}
			p := cfg.resolve(class)
			ac, err := alphasCumprod(p)
			if err != nil {
				t.Fatal(err)
			}
			oracleRun(t, s, p, ac, x0, eps, tc.calls)
		})
	}
}

// curve returns the forward-process point at call i (or after the last
// call when i = len(timesteps)), and the model's α, σ there.
type curve func(i int) (alpha, sigma float64)

func oracleRun(t *testing.T, s Sampler, p params, ac []float32, x0, eps []float32, calls int) {
	var at curve
	// DDIM and PNDM: ᾱ of timesteps[i], and after the last call the
	// "previous" ᾱ (final_alpha_cumprod below 0). The grids used here step
	// by exactly T//N, which DDIM's prev_t assumes.
	vp := func(ts []int64, ratio int64, final float32) curve {
		return func(i int) (float64, float64) {
			var a float64
			switch prev := ts[len(ts)-1] - ratio; {
			case i < len(ts):
				a = float64(ac[ts[i]])
			case prev < 0:
				a = float64(final)
			default:
				a = float64(ac[prev])
			}
			return math.Sqrt(a), math.Sqrt(1 - a)
		}
	}
	switch s := s.(type) {
	case *DDIM:
		at = vp(s.timesteps, s.stepRatio, s.finalAlpha)
	case *PNDM:
		at = vp(s.timesteps, s.ratio, s.finalAlpha)
	case *DPMSolver:
		at = func(i int) (float64, float64) {
			sg := float64(s.sigmas[i])
			a := 1 / math.Sqrt(sg*sg+1)
			return a, sg * a
		}
	default: // k-diffusion σ-space: x = x0 + σ·ε
		sig := sigmasOf(t, s)
		at = func(i int) (float64, float64) { return 1, float64(sig[i]) }
	}
	point := func(i int) []float32 {
		a, sg := at(i)
		out := make([]float32, len(x0))
		for k := range out {
			out[k] = float32(a*float64(x0[k]) + sg*float64(eps[k]))
		}
		return out
	}
	zero := func(n int) []float32 { return make([]float32, n) }
	x := point(0)
	ts := s.Timesteps()
	if calls == 0 {
		calls = len(ts)
	}
	for i := range ts[:calls] {
		// The model sees VP-space input: x/√(σ²+1) = α·x0 + σα·ε for the
		// σ-space samplers.
		a, sg := at(i)
		if _, ok := s.(interface {
			scale([]float32, int) []float32
		}); ok {
			a, sg = 1/math.Sqrt(sg*sg+1), sg/math.Sqrt(sg*sg+1)
		}
		out := make([]float32, len(x0))
		for k := range out {
			switch p.prediction {
			case "epsilon":
				out[k] = eps[k]
			case "sample":
				out[k] = x0[k]
			case "v_prediction":
				out[k] = float32(a*float64(eps[k]) - sg*float64(x0[k]))
			}
		}
		x = s.Step(out, i, x, zero)
		want := point(i + 1)
		if ea, ok := s.(*EulerAncestral); ok {
			from, to := float64(ea.sigmas[i]), float64(ea.sigmas[i+1])
			up := math.Sqrt(to * to * (from*from - to*to) / (from * from))
			down := math.Sqrt(to*to - up*up)
			for k := range want {
				want[k] = x0[k] + float32(down)*eps[k]
			}
		}
		for k := range want {
			if d := math.Abs(float64(x[k] - want[k])); d > 2e-5*math.Max(1, math.Abs(float64(want[k]))) {
				t.Fatalf("call %d (t=%v) [%d]: got %.7g want %.7g", i, ts[i], k, x[k], want[k])
			}
		}
		if _, ok := s.(*EulerAncestral); ok {
			x = point(i + 1) // continue on the curve (the real sampler adds σ_up·z)
		}
	}
}

// TestDDIMEta checks η > 0 against eq. (12) and (16) of Song et al. evaluated
// in float64: x' = √ᾱp·x̂₀ + √(1-ᾱp-σ²)·ε + σ·z with
// σ = η·√((1-ᾱp)/(1-ᾱt)·(1-ᾱt/ᾱp)), one noise draw of len(x) per step.
func TestDDIMEta(t *testing.T) {
	cfg := mustParse(t, `{"beta_schedule": "scaled_linear", "beta_start": 0.00085, "beta_end": 0.012, "steps_offset": 1, "clip_sample": false, "set_alpha_to_one": false}`)
	s, err := New("ddim", cfg, 10, Options{Eta: 0.7})
	if err != nil {
		t.Fatal(err)
	}
	d := s.(*DDIM)
	x := []float32{0.4, -1.1, 2.3}
	m := []float32{-0.2, 0.9, 0.1}
	z := []float32{1.5, -0.3, 0.8}
	draws := 0
	got := s.Step(m, 3, x, func(n int) []float32 { draws++; return z[:n] })
	if draws != 1 {
		t.Fatalf("%d noise draws, want 1", draws)
	}
	at := float64(d.ac[d.timesteps[3]])
	ap := float64(d.ac[d.timesteps[3]-100])
	sigma := 0.7 * math.Sqrt((1-ap)/(1-at)*(1-at/ap))
	for k := range x {
		x0 := (float64(x[k]) - math.Sqrt(1-at)*float64(m[k])) / math.Sqrt(at)
		want := math.Sqrt(ap)*x0 + math.Sqrt(1-ap-sigma*sigma)*float64(m[k]) + sigma*float64(z[k])
		if math.Abs(float64(got[k])-want) > 1e-5*math.Max(1, math.Abs(want)) {
			t.Errorf("[%d] = %.7g, want %.7g", k, got[k], want)
		}
	}
}
