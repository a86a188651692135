package sampler

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"reflect"
	"testing"

	"github.com/roentgen-dev/roentgen/internal/golden"
	"github.com/roentgen-dev/roentgen/internal/rng"
	"github.com/roentgen-dev/roentgen/internal/weights"
)

// The scheduler goldens are testdata/golden/{tiny-sd1,tiny-sd2}/
// schedulers.safetensors, made by diffusers v0.25.1 / torch 1.13.1 on CPU
// (fixture README, "Golden files" and the trajectory recipe). Tolerance
// 1e-5 relative to max(1, max|want|) is the README's single-module target.
const trajTol = 1e-5

type tensorRef struct {
	Key string `json:"key"`
}

type schedCase struct {
	Name           string          `json:"name"`
	Variant        string          `json:"variant"`
	Class          string          `json:"class"`
	Steps          int             `json:"num_inference_steps"`
	Config         json.RawMessage `json:"config"`
	InitNoiseSigma float64         `json:"init_noise_sigma"`
	NoiseSeed      uint64          `json:"step_noise_generator_seed"`
	Timesteps      tensorRef       `json:"timesteps"`
	Sigmas         *tensorRef      `json:"sigmas"`
	X              tensorRef       `json:"x"`
	ModelIn        tensorRef       `json:"model_in"`
	ModelOut       tensorRef       `json:"model_out"`
	StepNoise      *tensorRef      `json:"step_noise"`
}

// variantName maps the fixture's variant to a sampler name and the extra
// override it carries beyond the name's own.
var variantName = map[string]struct {
	name    string
	spacing string
}{
	"pndm":            {"pndm", ""},
	"pndm_prk":        {"pndm-prk", ""},
	"ddim":            {"ddim", ""},
	"ddim_trailing":   {"ddim", "trailing"},
	"euler":           {"euler", ""},
	"euler_ancestral": {"euler-a", ""},
	"dpmpp_2m":        {"dpm++2m", ""},
	"dpmpp_2m_karras": {"dpm++2m-karras", ""},
	"lms":             {"lms", ""},
}

func TestGoldenTrajectories(t *testing.T) {
	for _, fixture := range []string{"tiny-sd1", "tiny-sd2"} {
		t.Run(fixture, func(t *testing.T) { runFixture(t, fixture) })
	}
}

func runFixture(t *testing.T, fixture string) {
	raw, err := os.ReadFile(golden.Path(t, fixture, "scheduler", "scheduler_config.json"))
	if err != nil {
		t.Fatal(err)
	}
	base, err := ParseConfig(raw)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(golden.Path(t, "golden", fixture, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	var idx struct {
		Schedulers struct {
			Cases []schedCase `json:"cases"`
		} `json:"schedulers"`
	}
	if err := json.Unmarshal(b, &idx); err != nil {
		t.Fatal(err)
	}
	f := golden.Open(t, "golden", fixture, "schedulers.safetensors")
	xT := golden.Float32(t, f, "x_T")
	wantAC := golden.Float32(t, f, "alphas_cumprod")
	if len(idx.Schedulers.Cases) != 18 {
		t.Fatalf("index lists %d scheduler cases, want 18", len(idx.Schedulers.Cases))
	}
	for _, c := range idx.Schedulers.Cases {
		t.Run(c.Name, func(t *testing.T) {
			v, ok := variantName[c.Variant]
			if !ok {
				t.Fatalf("unknown variant %q", c.Variant)
			}
			cfg := base
			if v.spacing != "" {
				cfg.TimestepSpacing = ptr(v.spacing)
			}
			s, err := New(v.name, cfg, c.Steps, Options{})
			if err != nil {
				t.Fatal(err)
			}
			checkConfig(t, c, cfg, v.name)
			checkSchedule(t, f, c, s, wantAC)
			replay(t, f, c, s, xT)
		})
	}
}

// checkConfig compares the params New resolved with the config diffusers
// recorded for the case (Class.from_config(pipeline config, **overrides)).
func checkConfig(t *testing.T, c schedCase, cfg Config, name string) {
	if v := variants[name]; v.apply != nil {
		v.apply(&cfg)
	}
	if got, want := cfg.resolve(c.Class), recorded(t, c); !reflect.DeepEqual(got, want) {
		t.Errorf("resolved config\n got %+v\nwant %+v", got, want)
	}
}

// checkSchedule compares alphas_cumprod, timesteps (exactly), sigmas and
// init_noise_sigma.
func checkSchedule(t *testing.T, f *weights.File, c schedCase, s Sampler, wantAC []float32) {
	ac, err := alphasCumprod(recorded(t, c))
	if err != nil {
		t.Fatal(err)
	}
	for i := range ac {
		if ac[i] != wantAC[i] {
			t.Fatalf("alphas_cumprod[%d] = %.9g, want %.9g", i, ac[i], wantAC[i])
		}
	}
	info, _ := f.Info(c.Timesteps.Key)
	var want []float64
	if info.DType == "I64" {
		v, err := f.Int64(c.Timesteps.Key)
		if err != nil {
			t.Fatal(err)
		}
		want = toFloat64(v)
	} else {
		want = toFloat64(golden.Float32(t, f, c.Timesteps.Key))
	}
	if got := s.Timesteps(); !reflect.DeepEqual(got, want) {
		t.Fatalf("timesteps\n got %v\nwant %v", got, want)
	}
	if got := s.InitNoiseSigma(); float32(got) != float32(c.InitNoiseSigma) {
		t.Errorf("init_noise_sigma = %.9g, want %.9g", got, c.InitNoiseSigma)
	}
	if c.Sigmas != nil {
		got := sigmasOf(t, s)
		golden.Close(t, "sigmas", got, golden.Float32(t, f, c.Sigmas.Key), trajTol)
	}
}

// recorded resolves the config diffusers recorded for the case. It holds
// every key of the class, so no default is involved; _use_default_values is
// metadata here and is not applied.
func recorded(t *testing.T, c schedCase) params {
	var rec Config
	if err := json.Unmarshal(sanitize(c.Config), &rec); err != nil {
		t.Fatal(err)
	}
	return rec.resolve(c.Class)
}

func sigmasOf(t *testing.T, s Sampler) []float32 {
	switch s := s.(type) {
	case *Euler:
		return s.sigmas
	case *EulerAncestral:
		return s.sigmas
	case *LMS:
		return s.sigmas
	case *DPMSolver:
		return s.sigmas
	}
	t.Fatalf("%T has no sigmas", s)
	return nil
}

// replay runs the README's trajectory recipe and compares model_in,
// model_out and every x[i].
func replay(t *testing.T, f *weights.File, c schedCase, s Sampler, xT []float32) {
	n := len(xT)
	wantX := golden.Float32(t, f, c.X.Key)
	wantIn := golden.Float32(t, f, c.ModelIn.Key)
	wantOut := golden.Float32(t, f, c.ModelOut.Key)
	var stepNoise []float32
	if c.StepNoise != nil {
		stepNoise = golden.Float32(t, f, c.StepNoise.Key)
	}
	gen := rng.New(c.NoiseSeed)
	calls := 0
	noise := func(m int) []float32 {
		z := gen.Randn(m)
		if stepNoise != nil {
			want := stepNoise[calls*n : (calls+1)*n]
			for k := range want {
				if z[k] != want[k] {
					t.Fatalf("rng draw %d [%d] = %v, step_noise has %v", calls, k, z[k], want[k])
				}
			}
		}
		calls++
		return z
	}
	init := float32(s.InitNoiseSigma())
	x := make([]float32, n)
	for k := range x {
		x[k] = xT[k] * init
	}
	// worst tracks the largest |diff| relative to max(1, max|want|) and
	// exact counts the values that match bit for bit.
	var worst, worstAbs float64
	worstAt := ""
	exact, total := 0, 0
	check := func(what string, i int, got, want []float32) {
		d := golden.Worst(got, want)
		rel := d.Abs / math.Max(1, d.MaxWant)
		if rel > trajTol {
			t.Fatalf("%s[%d]: %v", what, i, d)
		}
		if rel > worst {
			worst, worstAbs, worstAt = rel, d.Abs, fmt.Sprintf("%s[%d]", what, i)
		}
		for k := range want {
			if math.Float32bits(got[k]) == math.Float32bits(want[k]) {
				exact++
			}
		}
		total += len(want)
	}
	check("x", 0, x, wantX[:n])
	for i, ts := range s.Timesteps() {
		in := s.ScaleInput(x, i)
		check("model_in", i, in, wantIn[i*n:(i+1)*n])
		out := make([]float32, n)
		bias := float32(0.05 * math.Sin(ts/100))
		for k := range in {
			out[k] = float32(in[k]*float32(0.1)) + bias
		}
		check("model_out", i, out, wantOut[i*n:(i+1)*n])
		x = s.Step(out, i, x, noise)
		check("x", i+1, x, wantX[(i+1)*n:(i+2)*n])
	}
	if worst == 0 {
		t.Logf("%s: all %d values bit-exact", c.Name, total)
		return
	}
	t.Logf("%s: %d/%d values bit-exact; worst %s |diff| %.3g (%.3g relative)", c.Name, exact, total, worstAt, worstAbs, worst)
}
