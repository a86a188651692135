package sampler

// Euler: Karras, Aittala, Aila & Laine, "Elucidating the Design Space of
// Diffusion-Based Generative Models" (2022), Algorithm 2 with S_churn = 0
// (a plain Euler step of the probability-flow ODE dx/dσ = (x - x̂₀)/σ);
// diffusers src/diffusers/schedulers/scheduling_euler_discrete.py
// (EulerDiscreteScheduler.step) at v0.25.1.
//
// Notation: sigma = σ_i, sigma_hat = σ̂ = σ_i·(γ+1) with γ = 0,
// derivative = d_i = (x - x̂₀)/σ̂, dt = σ_{i+1} - σ̂:
//
//	x_{i+1} = x_i + d_i·dt
//
// The model sees x/√(σ²+1) (scale_model_input). Scalars and elements are
// float32; the σ grid is built in float64 numpy and stored as float32.

// kGrid is the timestep and σ grid that Euler, Euler ancestral and LMS
// share (their identical set_timesteps).
type kGrid struct {
	timesteps []float32
	sigmas    []float32 // one per call plus the final σ (0)
	initSigma float32
}

// newKGrid is set_timesteps and init_noise_sigma of the k-diffusion family:
//
//  1. timesteps: linspace(0, T-1, N) as float32, or leading / trailing;
//  2. σ = np.interp(timesteps, arange(T), √((1-ᾱ)/ᾱ)), or log-linear;
//  3. with Karras sigmas, σ from eq. (5) and timesteps from _sigma_to_t;
//  4. append σ = 0; init σ = max σ, or √(max σ² + 1) for leading spacing.
func newKGrid(p params, n int) (kGrid, error) {
	if p.timestepType != "discrete" && p.prediction == "v_prediction" {
		return kGrid{}, unsupported("timestep_type", p.timestepType)
	}
	if p.otherSigmas != "" {
		return kGrid{}, unsupported(p.otherSigmas, true)
	}
	if err := checkFinalSigmas(p); err != nil {
		return kGrid{}, err
	}
	ac, err := alphasCumprod(p)
	if err != nil {
		return kGrid{}, err
	}
	if p.rescaleZeroSNR {
		ac[len(ac)-1] = 1.0 / (1 << 24) // diffusers: 2**-24 keeps σ finite
	}
	// 1. Timesteps (float32).
	var ts []float32
	switch p.spacing {
	case "linspace":
		for _, v := range npLinspace(0, float64(p.trainSteps-1), n) {
			ts = append([]float32{float32(v)}, ts...)
		}
	case "leading":
		for _, v := range leading(p.trainSteps, n, p.stepsOffset) {
			ts = append(ts, float32(v))
		}
	case "trailing":
		for _, v := range trailing(p.trainSteps, n) {
			ts = append(ts, float32(v))
		}
	}
	// 2. σ at each timestep.
	train := trainSigmas(ac)
	var sig []float64
	switch p.interpolation {
	case "linear":
		for _, t := range ts {
			sig = append(sig, npInterp(float64(t), train))
		}
	case "log_linear":
		lo, hi := float64(log32(train[len(train)-1])), float64(log32(train[0]))
		for _, v := range torchLinspace32(lo, hi, n+1) {
			sig = append(sig, float64(exp32(v)))
		}
	}
	// 3. Karras σ and the timesteps that match them.
	if p.karras {
		sMin, sMax := sig[len(sig)-1], sig[0]
		if p.sigmaMin != nil {
			sMin = *p.sigmaMin
		}
		if p.sigmaMax != nil {
			sMax = *p.sigmaMax
		}
		sig = karrasSigmas(sMin, sMax, n)
		logs := logTable(train)
		for i, s := range sig {
			ts[i] = float32(sigmaToT(s, logs))
		}
	}
	// 4. Final σ = 0 and the initial noise scale.
	g := kGrid{timesteps: ts}
	for _, s := range sig {
		g.sigmas = append(g.sigmas, float32(s))
		g.initSigma = max(g.initSigma, float32(s))
	}
	if p.finalSigmas == "sigma_min" { // diffusers 0.28 and later; "zero" is 0.25's end
		g.sigmas = append(g.sigmas, train[0])
	} else {
		g.sigmas = append(g.sigmas, 0)
	}
	if p.spacing == "leading" {
		g.initSigma = sqrt32(g.initSigma*g.initSigma + 1)
	}
	return g, nil
}

// scale is scale_model_input: x / √(σ_i² + 1) in float32.
func (g *kGrid) scale(x []float32, i int) []float32 {
	s := g.sigmas[i]
	d := sqrt32(float32(s*s) + 1)
	out := make([]float32, len(x))
	for k, v := range x {
		out[k] = v / d
	}
	return out
}

// denoised is x̂₀ for the prediction type at σ (epsilon: x - σ·ε;
// v_prediction: v·(-σ/√(σ²+1)) + x/(σ²+1); sample: the output itself).
func denoised(prediction string, sigma float32, m, x []float32) []float32 {
	out := make([]float32, len(x))
	s2 := float32(sigma*sigma) + 1
	cv, cx := -sigma/sqrt32(s2), s2
	for k := range x {
		switch prediction {
		case "epsilon":
			out[k] = x[k] - float32(sigma*m[k])
		case "v_prediction":
			out[k] = float32(m[k]*cv) + x[k]/cx
		case "sample":
			out[k] = m[k]
		}
	}
	return out
}

// Euler is diffusers' EulerDiscreteScheduler with s_churn = 0.
type Euler struct {
	p params
	kGrid
}

var _ Sampler = (*Euler)(nil)

func newEuler(p params, n int) (*Euler, error) {
	g, err := newKGrid(p, n)
	if err != nil {
		return nil, err
	}
	return &Euler{p: p, kGrid: g}, nil
}

// Timesteps implements Sampler.
func (s *Euler) Timesteps() []float64 { return toFloat64(s.timesteps) }

// InitNoiseSigma implements Sampler.
func (s *Euler) InitNoiseSigma() float64 { return float64(s.initSigma) }

// ScaleInput implements Sampler.
func (s *Euler) ScaleInput(x []float32, i int) []float32 { return s.scale(x, i) }

// Step implements Sampler.
func (s *Euler) Step(modelOut []float32, i int, x []float32, noise Noise) []float32 {
	// 1. γ = 0 (s_churn = 0), so σ̂ = σ_i·(γ+1) = σ_i exactly; diffusers
	//    still draws the churn noise, which keeps the generator in step.
	sigma := s.sigmas[i]
	if noise != nil {
		noise(len(x))
	}
	// 2. x̂₀ from the prediction type.
	x0 := denoised(s.p.prediction, sigma, modelOut, x)
	// 3. d = (x - x̂₀)/σ̂, dt = σ_{i+1} - σ̂, x + d·dt.
	dt := s.sigmas[i+1] - sigma
	out := make([]float32, len(x))
	for k := range x {
		d := (x[k] - x0[k]) / sigma
		out[k] = x[k] + float32(d*dt)
	}
	return out
}
