package sampler

import "math"

// DDIM: Song, Meng & Ermon, "Denoising Diffusion Implicit Models" (2020),
// eq. (12); diffusers src/diffusers/schedulers/scheduling_ddim.py
// (DDIMScheduler.step) at v0.25.1.
//
// Notation (diffusers → paper): alpha_prod_t = ᾱ_t = α_t in the paper,
// pred_original_sample = x̂₀, pred_epsilon = ε̂, std_dev_t = σ_t(η):
//
//	x_{t-Δ} = √ᾱ_{t-Δ}·x̂₀ + √(1-ᾱ_{t-Δ}-σ_t²)·ε̂ + σ_t·z
//	σ_t = η·√((1-ᾱ_{t-Δ})/(1-ᾱ_t)·(1-ᾱ_t/ᾱ_{t-Δ}))      (eq. 16)
//
// All scalar and element math is float32, as diffusers' 0-dim tensors.

// DDIM is diffusers' DDIMScheduler.
type DDIM struct {
	p          params
	ac         []float32 // alphas_cumprod
	finalAlpha float32   // ᾱ used when the previous timestep is < 0
	timesteps  []int64
	stepRatio  int64 // T // N: prev_t = t - ratio for every spacing
	eta        float32
}

var _ Sampler = (*DDIM)(nil)

func newDDIM(p params, n int, opts Options) (*DDIM, error) {
	if p.thresholding {
		return nil, unsupported("thresholding", true)
	}
	ac, err := alphasCumprod(p)
	if err != nil {
		return nil, err
	}
	s := &DDIM{p: p, ac: ac, finalAlpha: ac[0], stepRatio: int64(p.trainSteps / n), eta: float32(opts.Eta)}
	if p.finalAlphaOne {
		s.finalAlpha = 1
	}
	// set_timesteps: linspace rounds half to even and ignores steps_offset.
	var ts []float64
	switch p.spacing {
	case "linspace":
		ts = npLinspace(0, float64(p.trainSteps-1), n)
		for i, j := 0, len(ts)-1; i < j; i, j = i+1, j-1 {
			ts[i], ts[j] = ts[j], ts[i]
		}
		for i, v := range ts {
			ts[i] = math.RoundToEven(v)
		}
	case "leading":
		ts = leading(p.trainSteps, n, p.stepsOffset)
	case "trailing":
		ts = trailing(p.trainSteps, n)
	}
	for _, t := range ts {
		s.timesteps = append(s.timesteps, int64(t))
	}
	return s, nil
}

// Timesteps implements Sampler.
func (s *DDIM) Timesteps() []float64 { return toFloat64(s.timesteps) }

// InitNoiseSigma implements Sampler: DDIM starts from unit-variance noise.
func (s *DDIM) InitNoiseSigma() float64 { return 1 }

// ScaleInput implements Sampler: DDIM does not scale the model input.
func (s *DDIM) ScaleInput(x []float32, i int) []float32 { return x }

// Step implements Sampler.
func (s *DDIM) Step(modelOut []float32, i int, x []float32, noise Noise) []float32 {
	// 1. Previous timestep t - T//N (not the next list entry for linspace).
	t := s.timesteps[i]
	prev := t - s.stepRatio
	// 2. ᾱ_t, ᾱ_prev and β_t = 1 - ᾱ_t.
	at := s.ac[t]
	ap := s.finalAlpha
	if prev >= 0 {
		ap = s.ac[prev]
	}
	bt := 1 - at
	sa, sb := sqrt32(at), sqrt32(bt)
	// 3. x̂₀ and ε̂ from the prediction type (eq. 12 "predicted x₀").
	x0 := make([]float32, len(x))
	eps := make([]float32, len(x))
	for k := range x {
		switch s.p.prediction {
		case "epsilon":
			x0[k] = (x[k] - float32(sb*modelOut[k])) / sa
			eps[k] = modelOut[k]
		case "sample":
			x0[k] = modelOut[k]
			eps[k] = (x[k] - float32(sa*x0[k])) / sb
		case "v_prediction":
			x0[k] = float32(sa*x[k]) - float32(sb*modelOut[k])
			eps[k] = float32(sa*modelOut[k]) + float32(sb*x[k])
		}
	}
	// 4. Clip x̂₀ to ±clip_sample_range when clip_sample is set.
	if s.p.clip {
		r := float32(s.p.clipRange)
		for k, v := range x0 {
			x0[k] = min(max(v, -r), r)
		}
	}
	// 5. σ_t = η·√variance (eq. 16).
	variance := (1 - ap) / bt * (1 - at/ap)
	std := s.eta * sqrt32(variance)
	// 6. Direction pointing to x_t, then x_{t-Δ} (eq. 12).
	dir := sqrt32(1 - ap - float32(std*std))
	sap := sqrt32(ap)
	out := make([]float32, len(x))
	for k := range x {
		out[k] = float32(sap*x0[k]) + float32(dir*eps[k])
	}
	// 7. With η > 0 add σ_t·z, z ~ N(0, I) from the pipeline's generator.
	if s.eta > 0 {
		if noise == nil {
			panic("sampler: DDIM with eta > 0 needs a noise source")
		}
		z := noise(len(x))
		for k := range out {
			out[k] += float32(std * z[k])
		}
	}
	return out
}
