// Package sampler implements the diffusion schedulers (DDIM, PNDM, Euler, Euler ancestral, DPM-Solver++ 2M, LMS) as plain host math.
//
// Each sampler reproduces the diffusers v0.25.1 class of the same name
// (src/diffusers/schedulers/scheduling_*.py at commit 1909952826ff),
// including its float32/float64 split, so that a trajectory matches the
// fixture goldens to float32 rounding.
package sampler

import (
	"fmt"
	"github.com/roentgen-dev/roentgen/internal/kernels"
	"math"
	"strings"
)

// Sampler is one configured scheduler for a fixed number of steps. The
// pipeline calls ScaleInput and Step once per entry of Timesteps, in order;
// the sampler keeps its own history. Neither method modifies its arguments
// or keeps references to them.
type Sampler interface {
	// Timesteps is the UNet timestep of each call (PNDM repeats one, the
	// Euler family has fractional ones).
	Timesteps() []float64
	// InitNoiseSigma scales the initial Gaussian latents.
	InitNoiseSigma() float64
	// ScaleInput is scale_model_input for call i; it may return x itself.
	ScaleInput(x []float32, i int) []float32
	// Step is step(modelOut, timesteps[i], x).prev_sample.
	Step(modelOut []float32, i int, x []float32, noise Noise) []float32
}

// Noise draws torch.randn of n elements from the pipeline's generator. Euler
// ancestral and DDIM with η > 0 use it; Euler draws and discards it as
// diffusers does; it may be nil for the others.
type Noise func(n int) []float32

// Options are the step arguments the pipeline passes besides the config.
type Options struct {
	// Eta is DDIM's η (0 = deterministic DDIM, 1 = DDPM-like variance).
	Eta float64
}

// variant is a sampler name: a diffusers class plus the config overrides
// it applies, as Class.from_config(config, **overrides) in the fixtures.
type variant struct {
	class string
	apply func(*Config)
}

var variants = map[string]variant{
	"ddim":     {classDDIM, nil},
	"pndm":     {classPNDM, func(c *Config) { c.SkipPRKSteps = ptr(true) }},
	"pndm-prk": {classPNDM, func(c *Config) { c.SkipPRKSteps = ptr(false) }},
	"euler":    {classEuler, nil},
	"euler-a":  {classEulerA, nil},
	"lms":      {classLMS, nil},
	"dpm++2m": {classDPM, func(c *Config) {
		c.AlgorithmType, c.SolverOrder, c.UseKarrasSigmas = ptr("dpmsolver++"), ptr(2), ptr(false)
	}},
	"dpm++2m-karras": {classDPM, func(c *Config) {
		c.AlgorithmType, c.SolverOrder, c.UseKarrasSigmas = ptr("dpmsolver++"), ptr(2), ptr(true)
	}},
}

// Names lists the sampler names New accepts besides "" and class names.
func Names() []string {
	return []string{"ddim", "pndm", "pndm-prk", "euler", "euler-a", "dpm++2m", "dpm++2m-karras", "lms"}
}

// New builds the named sampler from the model's scheduler config for steps
// inference steps. name is one of Names, a diffusers class name such as
// "DDIMScheduler", or "" for the config's own _class_name. Keys the config
// lacks take the target class's defaults.
func New(name string, cfg Config, steps int, opts Options) (Sampler, error) {
	v, ok := variants[name]
	switch {
	case ok:
	case name == "":
		v = variant{class: cfg.ClassName}
	default:
		v = variant{class: name}
	}
	if v.apply != nil {
		v.apply(&cfg)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	p := cfg.resolve(v.class)
	if steps < 1 || steps > p.trainSteps {
		return nil, fmt.Errorf("sampler %s: %d steps is outside 1..num_train_timesteps (%d)", label(name, v.class), steps, p.trainSteps)
	}
	var s Sampler
	var err error
	switch v.class {
	case classDDIM:
		s, err = newDDIM(p, steps, opts)
	case classPNDM:
		s, err = newPNDM(p, steps)
	case classEuler:
		s, err = newEuler(p, steps)
	case classEulerA:
		s, err = newEulerAncestral(p, steps)
	case classDPM:
		s, err = newDPMSolver(p, steps)
	case classLMS:
		s, err = newLMS(p, steps)
	case "":
		return nil, fmt.Errorf("scheduler config: _class_name is missing; choose a sampler with --scheduler (%s)", strings.Join(Names(), ", "))
	default:
		if name == "" {
			return nil, fmt.Errorf("the model's scheduler %s is not supported; choose one with --scheduler (%s)", v.class, strings.Join(Names(), ", "))
		}
		return nil, fmt.Errorf("sampler %q is not one of %s or a supported scheduler class (%s)", name, strings.Join(Names(), ", "),
			strings.Join([]string{classDDIM, classPNDM, classEuler, classEulerA, classDPM, classLMS}, ", "))
	}
	if err != nil {
		return nil, fmt.Errorf("sampler %s: %w", label(name, v.class), err)
	}
	// steps_offset can push the leading grid past the schedule (1000 steps
	// with offset 1 reach t = 1000): diffusers fails there with an
	// IndexError; say so instead of indexing out of range.
	for _, t := range s.Timesteps() {
		if t < 0 || t > float64(p.trainSteps-1) {
			return nil, fmt.Errorf("sampler %s: %d steps give timestep %g, outside 0..%d (steps_offset %d); use fewer steps",
				label(name, v.class), steps, t, p.trainSteps-1, p.stepsOffset)
		}
	}
	return s, nil
}

func label(name, class string) string {
	if name == "" {
		return class
	}
	return name
}

func ptr[T any](v T) *T { return &v }

// unsupported reports a config value this package does not implement.
func unsupported(key string, value any) error {
	return fmt.Errorf("%s = %v is not supported", key, value)
}

// The float32 scalar math of diffusers' 0-dim torch tensors. Products that
// feed a sum are wrapped in float32() so no platform fuses them into FMA.

// sqrt32 is a correctly rounded float32 square root (torch's x ** 0.5).
func sqrt32(x float32) float32 { return float32(math.Sqrt(float64(x))) }

// log32 is float32 log, as glibc's logf (torch.log of a 0-dim tensor).
func log32(x float32) float32 { return float32(math.Log(float64(x))) }

// exp32 is float32 exp, as glibc's expf.
func exp32(x float32) float32 { return float32(math.Exp(float64(x))) }

// fmaf is a*b+c with one float32 rounding, like the vfmadd the compiler
// emits in torch's AVX2 kernels.
var fmaf = kernels.FMA32

// clone copies a tensor the sampler keeps in its history.
func clone(x []float32) []float32 { return append([]float32(nil), x...) }

// toFloat64 widens timesteps for Timesteps().
func toFloat64[T float32 | int64 | float64](v []T) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}
