package sampler

import (
	"fmt"
	"math"
)

// DPM-Solver++(2M): Lu, Zhou, Bao, Chen, Li & Zhu, "DPM-Solver++: Fast
// Solver for Guided Sampling of Diffusion Probabilistic Models" (2022),
// Algorithm 2 (multistep second order, data prediction), with DPM-Solver's
// noise-prediction updates (Lu et al. 2022, eqs. 3.7–3.9) for
// algorithm_type "dpmsolver"; diffusers
// src/diffusers/schedulers/scheduling_dpmsolver_multistep.py
// (DPMSolverMultistepScheduler.step) at v0.25.1.
//
// Notation: α_t = 1/√(σ²+1), σ_t = σ·α_t, λ = log α_t - log σ_t,
// h = λ_t - λ_s0, r0 = h_0/h, D0 = m0, D1 = (m0 - m1)/r0, where m are the
// converted model outputs (x̂₀ for ++, ε̂ otherwise). Second-order midpoint:
//
//	x_t = (σ_t/σ_s0)·x - α_t(e^{-h} - 1)·D0 - ½·α_t(e^{-h} - 1)·D1
//
// Scalars and elements are float32; the σ grid is float64 numpy stored as
// float32.

// DPMSolver is diffusers' DPMSolverMultistepScheduler (non-SDE variants).
type DPMSolver struct {
	p         params
	timesteps []int64
	sigmas    []float32 // one per call plus the final σ

	outputs   [][]float32 // model_outputs, oldest first, len = solver_order
	lowerNums int         // lower_order_nums
}

var _ Sampler = (*DPMSolver)(nil)

func newDPMSolver(p params, n int) (*DPMSolver, error) {
	switch {
	case p.algorithm != "dpmsolver++" && p.algorithm != "dpmsolver":
		return nil, unsupported("algorithm_type", p.algorithm)
	case p.thresholding:
		return nil, unsupported("thresholding", true)
	case p.varianceType == "learned" || p.varianceType == "learned_range":
		return nil, unsupported("variance_type", p.varianceType)
	case p.otherSigmas != "":
		return nil, unsupported(p.otherSigmas, true)
	case p.finalSigmas == "zero" && p.algorithmFile != "dpmsolver++":
		return nil, fmt.Errorf("final_sigmas_type zero needs algorithm_type dpmsolver++ (diffusers refuses %s with it too; use sigma_min)", p.algorithmFile)
	}
	if err := checkFinalSigmas(p); err != nil {
		return nil, err
	}
	ac, err := alphasCumprod(p)
	if err != nil {
		return nil, err
	}
	train := trainSigmas(ac)
	logs := logTable(train)
	// 1. last_timestep: T minus the count of λ(t) below lambda_min_clipped.
	last := p.trainSteps
	for t := range ac {
		a := sqrt32(ac[t])
		lambda := log32(a) - log32(sqrt32(1-ac[t]))
		if lambda < float32(p.lambdaMinClipped) {
			last--
		}
	}
	// 2. N+1 points for linspace/leading with the last dropped, or trailing.
	var ts []float64
	switch p.spacing {
	case "linspace":
		v := npLinspace(0, float64(last-1), n+1)
		for i := n; i >= 1; i-- {
			ts = append(ts, math.RoundToEven(v[i]))
		}
	case "leading":
		ratio := last / (n + 1)
		for i := n; i >= 1; i-- {
			ts = append(ts, float64(i*ratio+p.stepsOffset))
		}
	case "trailing":
		for _, v := range npArange(float64(last), 0, -float64(p.trainSteps)/float64(n)) {
			ts = append(ts, math.RoundToEven(v)-1)
		}
	}
	// 3. σ: Karras (eq. 5 of Karras et al. 2022), λ-uniform (use_lu_lambdas),
	//    or interpolated; then the final σ (the last one repeated, or σ(0)).
	var sig []float64
	switch {
	case p.karras:
		sMin, sMax := float64(train[0]), float64(train[len(train)-1])
		if p.sigmaMin != nil {
			sMin = *p.sigmaMin
		}
		if p.sigmaMax != nil {
			sMax = *p.sigmaMax
		}
		sig = karrasSigmas(sMin, sMax, n)
	case p.luLambdas:
		lMin, lMax := float64(logs[0]), float64(logs[len(logs)-1])
		for _, r := range npLinspace(0, 1, n) {
			sig = append(sig, math.Exp(lMax+float64(r*(lMin-lMax))))
		}
	}
	if sig != nil {
		ts = ts[:0]
		for _, s := range sig {
			ts = append(ts, math.RoundToEven(sigmaToT(s, logs)))
		}
		sig = append(sig, sig[len(sig)-1])
	} else {
		for _, t := range ts {
			sig = append(sig, npInterp(t, train))
		}
		sig = append(sig, float64(train[0]))
	}
	// diffusers 0.26 and later end every schedule on final_sigmas_type's σ.
	switch p.finalSigmas {
	case "zero":
		sig[len(sig)-1] = 0
	case "sigma_min":
		sig[len(sig)-1] = float64(train[0])
	}
	s := &DPMSolver{p: p, outputs: make([][]float32, p.order)}
	for i, t := range ts {
		s.timesteps = append(s.timesteps, int64(t))
		s.sigmas = append(s.sigmas, float32(sig[i]))
	}
	s.sigmas = append(s.sigmas, float32(sig[len(sig)-1]))
	return s, nil
}

// Timesteps implements Sampler.
func (s *DPMSolver) Timesteps() []float64 { return toFloat64(s.timesteps) }

// InitNoiseSigma implements Sampler.
func (s *DPMSolver) InitNoiseSigma() float64 { return 1 }

// ScaleInput implements Sampler: DPM-Solver does not scale the input.
func (s *DPMSolver) ScaleInput(x []float32, i int) []float32 { return x }

// alphaSigma is _sigma_to_alpha_sigma_t plus λ = log α_t - log σ_t.
func alphaSigma(sigma float32) (alpha, sig, lambda float32) {
	alpha = 1 / sqrt32(float32(sigma*sigma)+1)
	sig = sigma * alpha
	return alpha, sig, log32(alpha) - log32(sig)
}

// Step implements Sampler.
func (s *DPMSolver) Step(modelOut []float32, i int, x []float32, noise Noise) []float32 {
	// 1. Lower the order at the end for short schedules (< 15 steps).
	n := len(s.timesteps)
	short := s.p.lowerOrderFinal && n < 15
	lowerFinal := i == n-1 && (s.p.eulerAtFinal || short || s.p.finalSigmas == "zero")
	lowerSecond := i == n-2 && short
	// 2. convert_model_output: x̂₀ (dpmsolver++) or ε̂ (dpmsolver).
	m := s.convert(modelOut, i, x)
	// 3. Shift the history and append.
	copy(s.outputs, s.outputs[1:])
	s.outputs[len(s.outputs)-1] = m
	// 4. First, second or third order update.
	var out []float32
	switch {
	case s.p.order == 1 || s.lowerNums < 1 || lowerFinal:
		out = s.update(i, x, 1)
	case s.p.order == 2 || s.lowerNums < 2 || lowerSecond:
		out = s.update(i, x, 2)
	default:
		out = s.update(i, x, 3)
	}
	if s.lowerNums < s.p.order {
		s.lowerNums++
	}
	return out
}

// convert is convert_model_output for the non-SDE algorithms.
func (s *DPMSolver) convert(m []float32, i int, x []float32) []float32 {
	alpha, sig, _ := alphaSigma(s.sigmas[i])
	out := make([]float32, len(m))
	for k := range m {
		switch {
		case s.p.algorithm == "dpmsolver++" && s.p.prediction == "epsilon":
			out[k] = (x[k] - float32(sig*m[k])) / alpha
		case s.p.algorithm == "dpmsolver++" && s.p.prediction == "v_prediction":
			out[k] = float32(alpha*x[k]) - float32(sig*m[k])
		case s.p.algorithm == "dpmsolver" && s.p.prediction == "sample":
			out[k] = (x[k] - float32(alpha*m[k])) / sig
		case s.p.algorithm == "dpmsolver" && s.p.prediction == "v_prediction":
			out[k] = float32(alpha*m[k]) + float32(sig*x[k])
		default: // ++ with sample, or ε̂ with epsilon
			out[k] = m[k]
		}
	}
	return out
}

// update is dpm_solver_first_order_update, multistep_dpm_solver_second_
// order_update or ..._third_order_update from σ_i to σ_{i+1}.
func (s *DPMSolver) update(i int, x []float32, order int) []float32 {
	at, st, lt := alphaSigma(s.sigmas[i+1])
	a0, s0, l0 := alphaSigma(s.sigmas[i])
	h := lt - l0
	plus := s.p.algorithm == "dpmsolver++"
	// Coefficients of x and D0 (the first-order update).
	var cx, c0 float32
	var em1 float32 // e^{-h} - 1 for ++, e^{h} - 1 otherwise
	if plus {
		em1 = exp32(-h) - 1
		cx, c0 = st/s0, at*em1
	} else {
		em1 = exp32(h) - 1
		cx, c0 = at/a0, st*em1
	}
	m := s.outputs
	m0 := m[len(m)-1]
	out := make([]float32, len(x))
	if order == 1 {
		for k := range x {
			out[k] = float32(cx*x[k]) - float32(c0*m0[k])
		}
		return out
	}
	_, _, l1 := alphaSigma(s.sigmas[i-1])
	m1 := m[len(m)-2]
	r0 := (l0 - l1) / h
	inv0 := 1 / r0
	if order == 2 {
		// D1 coefficient: midpoint -½·c0 (both algorithms); heun
		// +α_t((e^{-h}-1)/h + 1) for ++, -σ_t((e^{h}-1)/h - 1) otherwise.
		c1 := -(0.5 * c0)
		if s.p.solverType == "heun" {
			if plus {
				c1 = at * (em1/h + 1)
			} else {
				c1 = -(st * (em1/h - 1))
			}
		}
		for k := range x {
			d1 := inv0 * (m0[k] - m1[k])
			out[k] = float32(float32(cx*x[k])-float32(c0*m0[k])) + float32(c1*d1)
		}
		return out
	}
	_, _, l2 := alphaSigma(s.sigmas[i-2])
	m2 := m[len(m)-3]
	r1 := (l1 - l2) / h
	inv1, sum := 1/r1, r0+r1
	w, invSum := r0/sum, 1/sum
	var c1, c2 float32
	if plus {
		c1, c2 = at*(em1/h+1), -(at * ((em1+h)/(h*h) - 0.5))
	} else {
		c1, c2 = -(st * (em1/h - 1)), -(st * ((em1-h)/(h*h) - 0.5))
	}
	for k := range x {
		d10 := inv0 * (m0[k] - m1[k])
		d11 := inv1 * (m1[k] - m2[k])
		d1 := d10 + float32(w*(d10-d11))
		d2 := invSum * (d10 - d11)
		v := float32(float32(cx*x[k])-float32(c0*m0[k])) + float32(c1*d1)
		out[k] = v + float32(c2*d2)
	}
	return out
}
