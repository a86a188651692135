package sampler

import (
	"math"
	"reflect"
	"testing"
)

func mustParse(t *testing.T, js string) Config {
	t.Helper()
	c, err := ParseConfig([]byte(js))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestLinearBetas checks beta_schedule "linear" (DDPM, Ho et al. 2020:
// β from 1e-4 to 0.02). The ends of torch.linspace are the float32 inputs
// exactly (index 0 counts up from start, index T-1 down from end), and
// ᾱ must agree with the float64 product Π(1 - β_i), β_i = β0 + i(β1-β0)/999,
// to float32 accuracy (1e-5 relative after 1000 factors).
func TestLinearBetas(t *testing.T) {
	betas := torchLinspace32(0.0001, 0.02, 1000)
	if betas[0] != float32(0.0001) || betas[999] != float32(0.02) {
		t.Fatalf("ends %v %v", betas[0], betas[999])
	}
	ac, err := alphasCumprod(mustParse(t, `{}`).resolve(classDDIM))
	if err != nil {
		t.Fatal(err)
	}
	prod := 1.0
	for i := range ac {
		prod *= 1 - (0.0001 + float64(i)*(0.02-0.0001)/999)
		if rel := math.Abs(float64(ac[i])-prod) / prod; rel > 1e-5 {
			t.Fatalf("alphas_cumprod[%d] = %.9g, float64 product %.9g", i, ac[i], prod)
		}
	}
}

// TestCosineBetas checks squaredcos_cap_v2 (Nichol & Dhariwal 2021,
// eq. 17): the product of (1-β_i) telescopes to ᾱ(t_{i+1})/ᾱ(0) with
// ᾱ(t) = cos²((t+0.008)/1.008·π/2), except the last β, which is capped at
// 0.999 because ᾱ(1) = 0.
func TestCosineBetas(t *testing.T) {
	p := mustParse(t, `{"beta_schedule": "squaredcos_cap_v2"}`).resolve(classDDIM)
	ac, err := alphasCumprod(p)
	if err != nil {
		t.Fatal(err)
	}
	f := func(t float64) float64 { c := math.Cos((t + 0.008) / 1.008 * math.Pi / 2); return c * c }
	for i := 0; i < 999; i++ {
		want := f(float64(i+1)/1000) / f(0)
		if d := math.Abs(float64(ac[i]) - want); d > 1e-5*math.Max(want, 1e-2) {
			t.Fatalf("alphas_cumprod[%d] = %.9g, want %.9g", i, ac[i], want)
		}
	}
	if last := betasForAlphaBar(1000)[999]; last != float32(0.999) {
		t.Fatalf("last beta = %v, want the 0.999 cap", last)
	}
}

// TestTrainedBetas checks that trained_betas replace the schedule: a
// constant β = 0.01 gives ᾱ_i = float32(1 - float32(0.01))^(i+1), the power
// taken in float64 as torch's cumprod accumulates.
func TestTrainedBetas(t *testing.T) {
	js := `{"num_train_timesteps": 50, "beta_schedule": "scaled_linear", "trained_betas": [`
	for i := 0; i < 50; i++ {
		if i > 0 {
			js += ","
		}
		js += "0.01"
	}
	ac, err := alphasCumprod(mustParse(t, js+`]}`).resolve(classEuler))
	if err != nil {
		t.Fatal(err)
	}
	a := float64(1 - float32(0.01))
	acc := 1.0
	for i := range ac {
		acc *= a
		if ac[i] != float32(acc) {
			t.Fatalf("alphas_cumprod[%d] = %.9g, want %.9g", i, ac[i], float32(acc))
		}
	}
}

// TestSpacing checks timestep grids worked out by hand from diffusers'
// set_timesteps (v0.25.1):
//   - DDIM linspace, N=6: linspace(0, 999, 6) = 0, 199.8, 399.6, 599.4,
//     799.2, 999 → round half to even, reversed; steps_offset is ignored.
//   - DDIM trailing, N=3: arange(1000, 0, -333.33) = 1000, 666.67, 333.33
//     → round → 1000, 667, 333, minus 1.
//   - DDIM leading, N=3, offset 0: ratio 333 → 666, 333, 0.
//   - PNDM linspace, N=6, skip_prk: [0 200 400 599 799] + [799] + [999]
//     reversed.
//   - DPM leading, N=4, offset 1: ratio 1000//5 = 200 → 801, 601, 401, 201.
//   - Euler trailing, N=4: 999, 749, 499, 249 (float32).
func TestSpacing(t *testing.T) {
	for _, tc := range []struct {
		name, cfg string
		n         int
		want      []float64
	}{
		{"ddim", `{"timestep_spacing": "linspace", "steps_offset": 1}`, 6, []float64{999, 799, 599, 400, 200, 0}},
		{"ddim", `{"timestep_spacing": "trailing"}`, 3, []float64{999, 666, 332}},
		{"ddim", `{"timestep_spacing": "leading"}`, 3, []float64{666, 333, 0}},
		{"pndm", `{"timestep_spacing": "linspace"}`, 6, []float64{999, 799, 799, 599, 400, 200, 0}},
		{"dpm++2m", `{"timestep_spacing": "leading", "steps_offset": 1}`, 4, []float64{801, 601, 401, 201}},
		{"euler", `{"timestep_spacing": "trailing"}`, 4, []float64{999, 749, 499, 249}},
	} {
		s, err := New(tc.name, mustParse(t, tc.cfg), tc.n, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if got := s.Timesteps(); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s %s N=%d: got %v want %v", tc.name, tc.cfg, tc.n, got, tc.want)
		}
	}
}

// TestKarrasSigmas checks eq. (5) of Karras et al. 2022 at its ends: the
// first σ is σ_max and the last σ_min (up to pow rounding).
func TestKarrasSigmas(t *testing.T) {
	s := karrasSigmas(0.03, 14.6, 7)
	if math.Abs(s[0]-14.6) > 1e-12 || math.Abs(s[6]-0.03) > 1e-14 {
		t.Fatalf("ends %v %v", s[0], s[6])
	}
	for i := 1; i < len(s); i++ {
		if s[i] >= s[i-1] {
			t.Fatalf("not decreasing at %d: %v", i, s)
		}
	}
}

// TestSigmaToT checks _sigma_to_t on table σ values: an entry of the table
// maps to its own index, and the log-midpoint of two entries to index+½.
func TestSigmaToT(t *testing.T) {
	ac, _ := alphasCumprod(mustParse(t, `{"beta_schedule": "scaled_linear", "beta_start": 0.00085, "beta_end": 0.012}`).resolve(classDPM))
	logs := logTable(trainSigmas(ac))
	for _, i := range []int{0, 1, 400, 998} {
		if got := sigmaToT(math.Exp(float64(logs[i])), logs); math.Abs(got-float64(i)) > 1e-4 {
			t.Errorf("t(σ_%d) = %v", i, got)
		}
		mid := math.Exp((float64(logs[i]) + float64(logs[i+1])) / 2)
		if got := sigmaToT(mid, logs); math.Abs(got-float64(i)-0.5) > 1e-4 {
			t.Errorf("t(mid %d) = %v", i, got)
		}
	}
}
