package sampler

import (
	"math"
	"strings"
	"testing"
)

// TestParseConfig covers the decoding rules: unknown keys are ignored,
// _use_default_values clears keys (diffusers ConfigMixin.extract_init_dict),
// and Python's bare -Infinity is accepted.
func TestParseConfig(t *testing.T) {
	c, err := ParseConfig([]byte(`{
		"_class_name": "DPMSolverMultistepScheduler",
		"_diffusers_version": "0.25.1",
		"some_future_key": [1, 2],
		"timestep_spacing": "leading",
		"prediction_type": "v_prediction",
		"lambda_min_clipped": -Infinity,
		"sample_max_value": NaN,
		"note": "NaN and -Infinity inside strings stay strings",
		"_use_default_values": ["timestep_spacing"]
	}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.ClassName != classDPM {
		t.Errorf("class = %q", c.ClassName)
	}
	if c.TimestepSpacing != nil {
		t.Errorf("timestep_spacing listed in _use_default_values was kept: %q", *c.TimestepSpacing)
	}
	if c.PredictionType == nil || *c.PredictionType != "v_prediction" {
		t.Errorf("prediction_type = %v", c.PredictionType)
	}
	if c.LambdaMinClipped == nil || !math.IsInf(float64(*c.LambdaMinClipped), -1) {
		t.Errorf("lambda_min_clipped = %v", c.LambdaMinClipped)
	}
	p := c.resolve(classDPM)
	if p.spacing != "linspace" || p.prediction != "v_prediction" {
		t.Errorf("resolved spacing %q prediction %q", p.spacing, p.prediction)
	}
}

// TestParseConfigErrors checks that each error is one line naming the field.
func TestParseConfigErrors(t *testing.T) {
	for _, tc := range []struct{ json, field string }{
		{`{"beta_start": "small"}`, "beta_start"},
		{`{"beta_schedule": "cosine"}`, "beta_schedule"},
		{`{"timestep_spacing": "middle"}`, "timestep_spacing"},
		{`{"prediction_type": "x0"}`, "prediction_type"},
		{`{"num_train_timesteps": 1}`, "num_train_timesteps"},
		{`{"num_train_timesteps": 3, "trained_betas": [0.1, 0.2]}`, "trained_betas"},
		{`{"solver_order": 4}`, "solver_order"},
		{`{"steps_offset": -1}`, "steps_offset"},
		{`{"lambda_min_clipped": "low"}`, "lambda_min_clipped"},
		{`{"num_train_timesteps": 1000000000000}`, "num_train_timesteps"},
		{`{"beta_end": 2.0}`, "beta_end"},
		{`{"beta_start": -1}`, "beta_start"},
		{`{"beta_schedule": "scaled_linear", "beta_end": 1}`, "beta_end"},
		{`{"beta_start": NaN}`, "beta_start"},
		{`{"beta_start": 1e-50}`, "beta_start"},
		{`{"num_train_timesteps": 2, "trained_betas": [0.1, NaN]}`, "trained_betas"},
		{`{"num_train_timesteps": 2, "trained_betas": [0.1, "x"]}`, "trained_betas"},
	} {
		_, err := ParseConfig([]byte(tc.json))
		if err == nil {
			t.Errorf("%s: no error", tc.json)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, tc.field) || strings.Contains(msg, "\n") {
			t.Errorf("%s: error %q does not name %s on one line", tc.json, msg, tc.field)
		}
	}
}

// TestResolveDefaults checks the per-class defaults of diffusers v0.25.1's
// __init__ signatures when the config is empty, and carry-over from a PNDM
// config (the fixture README: DDIM's own clip_sample default is true, a PNDM
// config's clip_sample=false carries over).
func TestResolveDefaults(t *testing.T) {
	var empty Config
	ddim := empty.resolve(classDDIM)
	if !ddim.clip || !ddim.finalAlphaOne || ddim.spacing != "leading" || ddim.stepsOffset != 0 {
		t.Errorf("DDIM defaults: %+v", ddim)
	}
	pndm := empty.resolve(classPNDM)
	if pndm.finalAlphaOne || pndm.skipPRK || pndm.spacing != "leading" {
		t.Errorf("PNDM defaults: %+v", pndm)
	}
	for _, class := range []string{classEuler, classEulerA, classLMS, classDPM} {
		if p := empty.resolve(class); p.spacing != "linspace" || p.betaSchedule != "linear" || p.betaStart != 0.0001 || p.betaEnd != 0.02 {
			t.Errorf("%s defaults: %+v", class, p)
		}
	}
	dpm := empty.resolve(classDPM)
	if dpm.order != 2 || dpm.algorithm != "dpmsolver++" || !dpm.lowerOrderFinal || !math.IsInf(dpm.lambdaMinClipped, -1) {
		t.Errorf("DPM defaults: %+v", dpm)
	}
	c, err := ParseConfig([]byte(`{"_class_name": "PNDMScheduler", "clip_sample": false, "set_alpha_to_one": false, "skip_prk_steps": true}`))
	if err != nil {
		t.Fatal(err)
	}
	if p := c.resolve(classDDIM); p.clip || p.finalAlphaOne {
		t.Errorf("DDIM from a PNDM config: clip %v set_alpha_to_one %v, want false false", p.clip, p.finalAlphaOne)
	}
	// DPM maps algorithm deis and solver_type bh2 as its __init__ does.
	c, _ = ParseConfig([]byte(`{"algorithm_type": "deis", "solver_type": "bh2"}`))
	if p := c.resolve(classDPM); p.algorithm != "dpmsolver++" || p.solverType != "midpoint" {
		t.Errorf("deis/bh2 resolved to %q/%q", p.algorithm, p.solverType)
	}
}

// TestNewNames covers the registry: short names, class names, the
// config's own class, and errors.
func TestNewNames(t *testing.T) {
	c, err := ParseConfig([]byte(`{"_class_name": "PNDMScheduler", "skip_prk_steps": true, "steps_offset": 1}`))
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"": "*sampler.PNDM", "EulerDiscreteScheduler": "*sampler.Euler", "lms": "*sampler.LMS",
		"euler-a": "*sampler.EulerAncestral", "dpm++2m-karras": "*sampler.DPMSolver", "ddim": "*sampler.DDIM",
	} {
		s, err := New(name, c, 20, Options{})
		if err != nil {
			t.Errorf("%q: %v", name, err)
			continue
		}
		if got := typeName(s); got != want {
			t.Errorf("%q built %s, want %s", name, got, want)
		}
	}
	for name, cfg := range map[string]string{
		"heun":  `{}`,
		"ddim":  `{"thresholding": true}`,
		"euler": `{"timestep_type": "continuous", "prediction_type": "v_prediction"}`,
		"":      `{"_class_name": "DDPMScheduler"}`,
	} {
		c, err := ParseConfig([]byte(cfg))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := New(name, c, 20, Options{}); err == nil {
			t.Errorf("New(%q, %s) succeeded", name, cfg)
		}
	}
	if _, err := New("ddim", c, 1001, Options{}); err == nil {
		t.Error("1001 steps with 1000 training steps succeeded")
	}
}

func typeName(s Sampler) string {
	switch s.(type) {
	case *DDIM:
		return "*sampler.DDIM"
	case *PNDM:
		return "*sampler.PNDM"
	case *Euler:
		return "*sampler.Euler"
	case *EulerAncestral:
		return "*sampler.EulerAncestral"
	case *DPMSolver:
		return "*sampler.DPMSolver"
	case *LMS:
		return "*sampler.LMS"
	}
	return "?"
}

// TestStepsPastTheSchedule: with steps_offset 1 and leading spacing, 1000
// steps reach t = 1000, one past alphas_cumprod (diffusers raises an
// IndexError); every sampler must refuse with an error, not index out of
// range. 999 steps stay inside.
func TestStepsPastTheSchedule(t *testing.T) {
	cfg, err := ParseConfig([]byte(`{"_class_name": "PNDMScheduler", "steps_offset": 1, "skip_prk_steps": true}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"pndm", "ddim"} {
		if _, err := New(name, cfg, 1000, Options{}); err == nil || !strings.Contains(err.Error(), "give timestep 1000, outside 0..999") {
			t.Errorf("%s: got %v", name, err)
		}
		if _, err := New(name, cfg, 999, Options{}); err != nil {
			t.Errorf("%s with 999 steps: %v", name, err)
		}
	}
}

// TestParseConfigBounds checks the exact messages of the schedule's bounds:
// a num_train_timesteps that would exhaust memory, betas outside (0, 1)
// that would give a black image, and Python's bare NaN in trained_betas,
// and that values at the edges of the bounds still load.
func TestParseConfigBounds(t *testing.T) {
	for _, tc := range []struct{ json, want string }{
		{`{"num_train_timesteps": 1000000000000}`,
			"scheduler config: num_train_timesteps 1000000000000 is above 1000000 (Stable Diffusion trains with 1000)"},
		{`{"num_train_timesteps": 1000001}`,
			"scheduler config: num_train_timesteps 1000001 is above 1000000 (Stable Diffusion trains with 1000)"},
		{`{"beta_schedule": "scaled_linear", "beta_start": 0.00085, "beta_end": 2.0}`,
			"scheduler config: beta_end is 2, outside (0, 1); it must be a finite number in (0, 1)"},
		{`{"beta_start": -1}`,
			"scheduler config: beta_start is -1, outside (0, 1); it must be a finite number in (0, 1)"},
		{`{"beta_start": 0}`,
			"scheduler config: beta_start is 0, outside (0, 1); it must be a finite number in (0, 1)"},
		{`{"beta_end": Infinity}`,
			"scheduler config: beta_end is +Inf, outside (0, 1); it must be a finite number in (0, 1)"},
		{`{"beta_start": 1e-50}`,
			"scheduler config: beta_start is 1e-50, which rounds to 0 in float32 (the dtype of diffusers' betas); it must be a finite number in (0, 1)"},
		{`{"num_train_timesteps": 3, "trained_betas": [0.1, NaN, 0.2]}`,
			"scheduler config: trained_betas[1] is NaN, outside (0, 1); trained_betas must be finite numbers in (0, 1)"},
		{`{"trained_betas": [NaN]}`,
			"scheduler config: trained_betas[0] is NaN, outside (0, 1); trained_betas must be finite numbers in (0, 1)"},
		{`{"num_train_timesteps": 2, "trained_betas": [0.1, 1.5]}`,
			"scheduler config: trained_betas[1] is 1.5, outside (0, 1); trained_betas must be finite numbers in (0, 1)"},
		{`{"num_train_timesteps": 2, "trained_betas": [0.1, "x"]}`,
			`scheduler config: field trained_betas: got JSON string "x", want float64`},
	} {
		_, err := ParseConfig([]byte(tc.json))
		if err == nil || err.Error() != tc.want {
			t.Errorf("%s:\n got %v\nwant %s", tc.json, err, tc.want)
		}
	}
	// Betas are not read by squaredcos_cap_v2, nor when trained_betas are
	// given; a decreasing linear schedule is accepted, as by diffusers.
	for _, js := range []string{
		`{"beta_schedule": "squaredcos_cap_v2", "beta_start": 2, "beta_end": -1}`,
		`{"num_train_timesteps": 2, "beta_end": 2, "trained_betas": [0.5, 0.999]}`,
		`{"beta_start": 0.02, "beta_end": 0.0001}`,
		`{"beta_start": 1e-9, "beta_end": 0.999}`,
	} {
		if _, err := ParseConfig([]byte(js)); err != nil {
			t.Errorf("%s: %v", js, err)
		}
	}
	// The bound itself builds a sampler, quickly and with the right grid.
	c := mustParse(t, `{"num_train_timesteps": 1000000, "beta_schedule": "scaled_linear", "beta_start": 0.00085, "beta_end": 0.012}`)
	ac, err := alphasCumprod(c.resolve(classEuler))
	if err != nil {
		t.Fatal(err)
	}
	if len(ac) != maxTrainTimesteps || !(ac[0] > 0.999 && ac[0] < 1) || !(ac[len(ac)-1] >= 0 && ac[len(ac)-1] < 1e-3) {
		t.Errorf("alphas_cumprod: %d values, first %v last %v", len(ac), ac[0], ac[len(ac)-1])
	}
	if _, err := New("euler", c, 20, Options{}); err != nil {
		t.Errorf("euler with 1000000 training steps: %v", err)
	}
}

// TestFinalSigmas checks the last σ each final_sigmas_type gives (diffusers
// 0.26 and later for DPM-Solver, 0.28 for Euler): absent, 0.25's (σ at
// t = 0 for DPM, 0 for Euler; DPM with Karras σ repeats its last);
// "zero" 0; "sigma_min" σ at t = 0. It also checks the keys refused.
func TestFinalSigmas(t *testing.T) {
	const sd = `"beta_schedule": "scaled_linear", "beta_start": 0.00085, "beta_end": 0.012, "steps_offset": 1`
	cfg := mustParse(t, "{"+sd+"}")
	ac, err := alphasCumprod(cfg.resolve(classDPM))
	if err != nil {
		t.Fatal(err)
	}
	sigmaT0 := trainSigmas(ac)[0]
	last := func(name, extra string) float32 {
		t.Helper()
		s, err := New(name, mustParse(t, "{"+sd+extra+"}"), 10, Options{})
		if err != nil {
			t.Fatalf("%s%s: %v", name, extra, err)
		}
		sig := sigmasOf(t, s)
		return sig[len(sig)-1]
	}
	karrasLast := func(extra string) float32 {
		s, _ := New("dpm++2m-karras", mustParse(t, "{"+sd+extra+"}"), 10, Options{})
		return s.(*DPMSolver).sigmas[9]
	}
	for _, c := range []struct {
		name, extra string
		want        float32
	}{
		{"dpm++2m", "", sigmaT0},
		{"dpm++2m", `, "final_sigmas_type": "zero"`, 0},
		{"dpm++2m", `, "final_sigmas_type": "sigma_min"`, sigmaT0},
		{"dpm++2m-karras", `, "sigma_min": 0.5`, karrasLast(`, "sigma_min": 0.5`)},
		{"dpm++2m-karras", `, "sigma_min": 0.5, "final_sigmas_type": "sigma_min"`, sigmaT0},
		{"dpm++2m-karras", `, "final_sigmas_type": "zero"`, 0},
		{"euler", "", 0},
		{"euler", `, "final_sigmas_type": "zero"`, 0},
		{"euler", `, "final_sigmas_type": "sigma_min"`, sigmaT0},
		{"euler-a", `, "final_sigmas_type": "sigma_min"`, 0}, // EulerAncestral has no such key
	} {
		if got := last(c.name, c.extra); got != c.want {
			t.Errorf("%s%s: last σ %g, want %g", c.name, c.extra, got, c.want)
		}
	}
	if karrasLast(`, "sigma_min": 0.5`) == sigmaT0 {
		t.Fatal("the Karras case cannot tell a repeated last σ from σ at t = 0")
	}
	for _, c := range []struct{ name, extra, want string }{
		{"dpm++2m", `, "final_sigmas_type": "last"`, `final_sigmas_type "last" is not one of zero, sigma_min`},
		{"DPMSolverMultistepScheduler", `, "algorithm_type": "dpmsolver", "final_sigmas_type": "zero"`, "final_sigmas_type zero needs algorithm_type dpmsolver++"},
		{"dpm++2m", `, "use_exponential_sigmas": true`, "use_exponential_sigmas = true is not supported"},
		{"dpm++2m", `, "use_flow_sigmas": true`, "use_flow_sigmas = true is not supported"},
		{"euler", `, "use_beta_sigmas": true`, "use_beta_sigmas = true is not supported"},
		{"lms", `, "use_exponential_sigmas": true`, "use_exponential_sigmas = true is not supported"},
	} {
		cfg, err := ParseConfig([]byte("{" + sd + c.extra + "}"))
		if err == nil {
			_, err = New(c.name, cfg, 10, Options{})
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s%s: %v, want %q", c.name, c.extra, err, c.want)
		}
	}
	for _, name := range []string{"ddim", "pndm", "euler-a"} {
		if _, err := New(name, mustParse(t, "{"+sd+`, "use_exponential_sigmas": true, "final_sigmas_type": "last"}`), 10, Options{}); err != nil {
			t.Errorf("%s ignores the keys it lacks: %v", name, err)
		}
	}
	deis := mustParse(t, "{"+sd+`, "algorithm_type": "deis", "final_sigmas_type": "zero"}`)
	if _, err := New("DPMSolverMultistepScheduler", deis, 10, Options{}); err == nil || !strings.Contains(err.Error(), "refuses deis") {
		t.Errorf("deis with zero: %v", err)
	}
	// A final_sigmas_type diffusers filled with its default when it saved
	// the file (_use_default_values) is dropped: 0.25's end again.
	if got := last("dpm++2m", `, "final_sigmas_type": "zero", "_use_default_values": ["final_sigmas_type"]`); got != sigmaT0 {
		t.Errorf("defaulted final_sigmas_type: last σ %g, want %g", got, sigmaT0)
	}
}
