package sampler

// LMS: the linear multistep sampler of k-diffusion (Crowson,
// k_diffusion/sampling.py sample_lms), a fourth-order Adams–Bashforth method
// in σ for the probability-flow ODE dx/dσ = (x - x̂₀)/σ (Karras et al. 2022,
// eq. 1); diffusers src/diffusers/schedulers/scheduling_lms_discrete.py
// (LMSDiscreteScheduler.step, get_lms_coefficient) at v0.25.1.
//
// Notation: d_{i-j} = stored derivatives (newest first), order
// q = min(i+1, 4), and the coefficients integrate the Lagrange basis over
// the step:
//
//	c_j = ∫_{σ_i}^{σ_{i+1}} Π_{k≠j} (τ - σ_{i-k}) / (σ_{i-j} - σ_{i-k}) dτ
//	x_{i+1} = x_i + Σ_j c_j·d_{i-j}
//
// diffusers integrates with scipy.integrate.quad (epsrel 1e-4) on a float32
// integrand; here the polynomial is integrated exactly in float64, which
// agrees to float32 rounding. Elements are float32.

// LMS is diffusers' LMSDiscreteScheduler with order 4.
type LMS struct {
	p params
	kGrid
	derivs [][]float32 // oldest first, at most lmsOrder
}

// lmsOrder is step()'s default order argument, which the pipeline keeps.
const lmsOrder = 4

var _ Sampler = (*LMS)(nil)

func newLMS(p params, n int) (*LMS, error) {
	g, err := newKGrid(p, n)
	if err != nil {
		return nil, err
	}
	return &LMS{p: p, kGrid: g}, nil
}

// Timesteps implements Sampler.
func (s *LMS) Timesteps() []float64 { return toFloat64(s.timesteps) }

// InitNoiseSigma implements Sampler.
func (s *LMS) InitNoiseSigma() float64 { return float64(s.initSigma) }

// ScaleInput implements Sampler.
func (s *LMS) ScaleInput(x []float32, i int) []float32 { return s.scale(x, i) }

// Step implements Sampler.
func (s *LMS) Step(modelOut []float32, i int, x []float32, noise Noise) []float32 {
	// 1. x̂₀ and the derivative (x - x̂₀)/σ_i.
	sigma := s.sigmas[i]
	x0 := denoised(s.p.prediction, sigma, modelOut, x)
	d := make([]float32, len(x))
	for k := range x {
		d[k] = (x[k] - x0[k]) / sigma
	}
	// 2. Keep the last four derivatives.
	s.derivs = append(s.derivs, d)
	if len(s.derivs) > lmsOrder {
		s.derivs = s.derivs[1:]
	}
	// 3. Integrated Lagrange coefficients for order min(i+1, 4).
	order := min(i+1, lmsOrder)
	coef := make([]float32, order)
	for j := range coef {
		coef[j] = float32(s.coefficient(order, i, j)) // python float × float32 tensor
	}
	// 4. x + Σ c_j·d_{i-j}, summed in float32 in diffusers' order.
	out := make([]float32, len(x))
	for k := range x {
		var sum float32
		for j := range coef {
			sum += float32(coef[j] * s.derivs[len(s.derivs)-1-j][k])
		}
		out[k] = x[k] + sum
	}
	return out
}

// coefficient is get_lms_coefficient(order, t, current): the exact integral
// of the Lagrange basis polynomial of node t-current over [σ_t, σ_{t+1}].
// The polynomial is expanded in u = τ - σ_t to keep the terms small.
func (s *LMS) coefficient(order, t, current int) float64 {
	a := float64(s.sigmas[t])
	b := float64(s.sigmas[t+1])
	poly := []float64{1} // coefficients of u^0, u^1, …
	for k := 0; k < order; k++ {
		if k == current {
			continue
		}
		root := float64(s.sigmas[t-k]) - a
		den := float64(s.sigmas[t-current]) - float64(s.sigmas[t-k])
		next := make([]float64, len(poly)+1)
		for d, c := range poly {
			next[d+1] += c / den
			next[d] -= c * root / den
		}
		poly = next
	}
	// ∫_0^{b-a} Σ c_d u^d du = Σ c_d (b-a)^{d+1}/(d+1).
	w := b - a
	sum, pw := 0.0, w
	for d, c := range poly {
		sum += c * pw / float64(d+1)
		pw *= w
	}
	return sum
}
