package sampler

// Euler ancestral: the ancestral sampler of k-diffusion (Crowson,
// k_diffusion/sampling.py sample_euler_ancestral with get_ancestral_step),
// an Euler step of the probability-flow ODE (Karras et al. 2022, eq. 1)
// down to σ_down followed by fresh noise of std σ_up; diffusers
// src/diffusers/schedulers/scheduling_euler_ancestral_discrete.py
// (EulerAncestralDiscreteScheduler.step) at v0.25.1.
//
// Notation: σ_from = σ_i, σ_to = σ_{i+1},
//
//	σ_up   = √(σ_to²·(σ_from² - σ_to²)/σ_from²)
//	σ_down = √(σ_to² - σ_up²)
//	x_{i+1} = x_i + (x_i - x̂₀)/σ_i·(σ_down - σ_i) + σ_up·z,  z ~ N(0, I)
//
// Scalars and elements are float32, as diffusers' tensors.

// EulerAncestral is diffusers' EulerAncestralDiscreteScheduler.
type EulerAncestral struct {
	p params
	kGrid
}

var _ Sampler = (*EulerAncestral)(nil)

func newEulerAncestral(p params, n int) (*EulerAncestral, error) {
	if p.prediction == "sample" {
		return nil, unsupported("prediction_type", p.prediction)
	}
	g, err := newKGrid(p, n)
	if err != nil {
		return nil, err
	}
	return &EulerAncestral{p: p, kGrid: g}, nil
}

// Timesteps implements Sampler.
func (s *EulerAncestral) Timesteps() []float64 { return toFloat64(s.timesteps) }

// InitNoiseSigma implements Sampler.
func (s *EulerAncestral) InitNoiseSigma() float64 { return float64(s.initSigma) }

// ScaleInput implements Sampler.
func (s *EulerAncestral) ScaleInput(x []float32, i int) []float32 { return s.scale(x, i) }

// Step implements Sampler. noise must not be nil.
func (s *EulerAncestral) Step(modelOut []float32, i int, x []float32, noise Noise) []float32 {
	if noise == nil {
		panic("sampler: Euler ancestral needs a noise source")
	}
	// 1. x̂₀ from the prediction type.
	sigma := s.sigmas[i]
	x0 := denoised(s.p.prediction, sigma, modelOut, x)
	// 2. σ_up and σ_down.
	from, to := sigma, s.sigmas[i+1]
	from2, to2 := from*from, to*to
	up := sqrt32(to2 * (from2 - to2) / from2)
	down := sqrt32(to2 - float32(up*up))
	// 3. The deterministic Euler step to σ_down.
	dt := down - sigma
	out := make([]float32, len(x))
	for k := range x {
		d := (x[k] - x0[k]) / sigma
		out[k] = x[k] + float32(d*dt)
	}
	// 4. Add σ_up·z with z = torch.randn from the pipeline's generator.
	z := noise(len(x))
	for k := range out {
		out[k] += float32(z[k] * up)
	}
	return out
}
