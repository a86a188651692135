package sampler

import "math"

// PNDM: Liu, Ren, Lin & Zhao, "Pseudo Numerical Methods for Diffusion Models
// on Manifolds" (ICLR 2022): the transfer part φ is eq. (9), the pseudo
// Runge–Kutta steps (PRK) eq. (13) and the pseudo linear multistep steps
// (PLMS) eq. (12); diffusers src/diffusers/schedulers/scheduling_pndm.py
// (PNDMScheduler.step_prk / step_plms / _get_prev_sample) at v0.25.1.
//
// Notation: ets = the stored ε history e₁ (newest) … e₄, counter = calls so
// far, φ(x, ε, t → t') = _get_prev_sample. With skip_prk_steps (what SD
// ships) N steps take N+1 calls: call 1 repeats call 0's target timestep
// and steps again from the stored x with (e' + e₀)/2, then Adams–Bashforth
// (3e₁-e₂)/2, (23e₁-16e₂+5e₃)/12 and (55e₁-59e₂+37e₃-9e₄)/24.
// All scalar and element math is float32, as diffusers' tensors.

// PNDM is diffusers' PNDMScheduler.
type PNDM struct {
	p          params
	ac         []float32
	finalAlpha float32
	ratio      int64 // T // N
	prkCount   int   // number of PRK calls before PLMS
	timesteps  []int64

	counter  int
	ets      [][]float32
	curModel []float32 // PRK's running weighted ε sum (nil = 0)
	curX     []float32 // the sample a PRK group or PLMS call 1 restarts from
}

var _ Sampler = (*PNDM)(nil)

func newPNDM(p params, n int) (*PNDM, error) {
	if p.prediction == "sample" {
		return nil, unsupported("prediction_type", p.prediction)
	}
	ac, err := alphasCumprod(p)
	if err != nil {
		return nil, err
	}
	s := &PNDM{p: p, ac: ac, finalAlpha: ac[0], ratio: int64(p.trainSteps / n)}
	if p.finalAlphaOne {
		s.finalAlpha = 1
	}
	// set_timesteps: the ascending _timesteps for each spacing.
	var base []int64
	switch p.spacing {
	case "linspace":
		for _, v := range npLinspace(0, float64(p.trainSteps-1), n) {
			base = append(base, int64(math.RoundToEven(v)))
		}
	case "leading":
		for _, v := range leading(p.trainSteps, n, p.stepsOffset) {
			base = append([]int64{int64(v)}, base...)
		}
	case "trailing":
		for _, v := range trailing(p.trainSteps, n) {
			base = append([]int64{int64(v)}, base...)
		}
	}
	if p.skipPRK {
		// [t₀ … t_{N-2}, t_{N-2}, t_{N-1}] reversed: the second-largest
		// timestep is visited twice.
		plms := append(append(append([]int64{}, base[:n-1]...), base[max(n-2, 0):n-1]...), base[n-1])
		s.timesteps = reversed(plms)
		return s, nil
	}
	if n < 4 {
		return nil, unsupported("skip_prk_steps", "false with fewer than 4 steps")
	}
	// PRK: the last four timesteps, each with its half step t + T//N//2,
	// repeated as prk_timesteps[:-1].repeat(2)[1:-1] and reversed.
	half := int64(p.trainSteps / n / 2)
	var prk []int64
	for _, t := range base[n-4:] {
		prk = append(prk, t, t+half)
	}
	var rep []int64
	for _, t := range prk[:len(prk)-1] {
		rep = append(rep, t, t)
	}
	s.timesteps = append(reversed(rep[1:len(rep)-1]), reversed(base[:n-3])...)
	s.prkCount = len(rep) - 2
	return s, nil
}

func reversed(v []int64) []int64 {
	out := make([]int64, len(v))
	for i, x := range v {
		out[len(v)-1-i] = x
	}
	return out
}

// Timesteps implements Sampler.
func (s *PNDM) Timesteps() []float64 { return toFloat64(s.timesteps) }

// InitNoiseSigma implements Sampler.
func (s *PNDM) InitNoiseSigma() float64 { return 1 }

// ScaleInput implements Sampler: PNDM does not scale the model input.
func (s *PNDM) ScaleInput(x []float32, i int) []float32 { return x }

// Step implements Sampler.
func (s *PNDM) Step(modelOut []float32, i int, x []float32, noise Noise) []float32 {
	if s.counter < s.prkCount && !s.p.skipPRK {
		return s.stepPRK(modelOut, s.timesteps[i], x)
	}
	return s.stepPLMS(modelOut, s.timesteps[i], x)
}

// stepPRK is step_prk: four calls per step at t, t-½, t-½, t-1 with weights
// 1/6, 1/3, 1/3, 1/6 (eq. 13).
func (s *PNDM) stepPRK(m []float32, t int64, x []float32) []float32 {
	// 1. Odd calls target their own timestep, even ones go half a step down;
	//    every call of a group of four starts from the group's first timestep.
	diff := s.ratio / 2
	if s.counter%2 == 1 {
		diff = 0
	}
	prev := t - diff
	t = s.timesteps[s.counter/4*4]
	// 2. Accumulate the Runge–Kutta weights (python floats cast to float32).
	eps := m
	switch s.counter % 4 {
	case 0:
		s.curModel = axpy(nil, float32(1.0/6), m)
		s.ets = append(s.ets, clone(m))
		s.curX = clone(x)
	case 1, 2:
		s.curModel = axpy(s.curModel, float32(1.0/3), m)
	case 3:
		eps = axpy(s.curModel, float32(1.0/6), m)
		s.curModel = nil
	}
	// 3. φ from the group's starting sample.
	start := x
	if s.curX != nil {
		start = s.curX
	}
	s.counter++
	return s.prevSample(start, t, prev, eps)
}

// stepPLMS is step_plms (eq. 12).
func (s *PNDM) stepPLMS(m []float32, t int64, x []float32) []float32 {
	// 1. Target t - T//N; call 1 instead re-targets the same timestep from t + T//N.
	prev := t - s.ratio
	if s.counter != 1 {
		if len(s.ets) > 3 {
			s.ets = s.ets[len(s.ets)-3:]
		}
		s.ets = append(s.ets, clone(m))
	} else {
		prev, t = t, t+s.ratio
	}
	// 2. Combine the history (float32, left to right as diffusers writes it).
	e := s.ets
	n := len(e)
	eps := make([]float32, len(m))
	switch {
	case n == 1 && s.counter == 0:
		copy(eps, m)
		s.curX = clone(x)
	case n == 1 && s.counter == 1:
		for k := range eps {
			eps[k] = (m[k] + e[0][k]) / 2
		}
		x, s.curX = s.curX, nil
	case n == 2:
		for k := range eps {
			eps[k] = (float32(3*e[1][k]) - e[0][k]) / 2
		}
	case n == 3:
		for k := range eps {
			eps[k] = (float32(float32(23*e[2][k])-float32(16*e[1][k])) + float32(5*e[0][k])) / 12
		}
	default:
		c := float32(1.0 / 24)
		for k := range eps {
			v := float32(float32(55*e[3][k])-float32(59*e[2][k])) + float32(37*e[1][k])
			v -= float32(9 * e[0][k])
			eps[k] = c * v
		}
	}
	// 3. φ (eq. 9).
	s.counter++
	return s.prevSample(x, t, prev, eps)
}

// prevSample is _get_prev_sample, PNDM's transfer φ (eq. 9):
//
//	x_prev = √(ᾱp/ᾱt)·x - (ᾱp-ᾱt)·ε / (ᾱt·√(1-ᾱp) + √(ᾱt·(1-ᾱt)·ᾱp))
func (s *PNDM) prevSample(x []float32, t, prev int64, eps []float32) []float32 {
	at := s.ac[t]
	ap := s.finalAlpha
	if prev >= 0 {
		ap = s.ac[prev]
	}
	bt, bp := 1-at, 1-ap
	if s.p.prediction == "v_prediction" {
		sa, sb := sqrt32(at), sqrt32(bt)
		v := eps
		eps = make([]float32, len(v))
		for k := range v {
			eps[k] = float32(sa*v[k]) + float32(sb*x[k])
		}
	}
	coef := sqrt32(ap / at)
	denom := float32(at*sqrt32(bp)) + sqrt32(at*bt*ap)
	diff := ap - at
	out := make([]float32, len(x))
	for k := range x {
		out[k] = float32(coef*x[k]) - float32(diff*eps[k])/denom
	}
	return out
}

// axpy returns acc + a·x in float32 (acc nil counts as 0), without
// modifying acc.
func axpy(acc []float32, a float32, x []float32) []float32 {
	out := make([]float32, len(x))
	for k := range x {
		v := float32(a * x[k])
		if acc != nil {
			v = acc[k] + v
		}
		out[k] = v
	}
	return out
}
