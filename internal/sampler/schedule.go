package sampler

import (
	"fmt"
	"math"
)

// The training noise schedule and the inference timestep/sigma grids, with
// the dtypes diffusers v0.25.1 uses: betas and alphas_cumprod are float32
// torch tensors, timestep spacing and sigma interpolation are float64 numpy.

// alphasCumprod returns ᾱ_t for the params' beta schedule:
//
//  1. betas: trained_betas, linear = torch.linspace(β0, β1, T, float32),
//     scaled_linear = torch.linspace(√β0, √β1, T, float32)², or
//     squaredcos_cap_v2 = betas_for_alpha_bar (float64, then float32);
//  2. optionally rescale_zero_terminal_snr (Lin et al. 2023, Alg. 1);
//  3. ᾱ = cumprod(1 - β), which torch's CPU cumprod accumulates in double.
func alphasCumprod(p params) ([]float32, error) {
	var betas []float32
	switch {
	case p.trainedBetas != nil:
		betas = make([]float32, len(p.trainedBetas))
		for i, b := range p.trainedBetas {
			betas[i] = float32(b)
		}
	case p.betaSchedule == "linear":
		betas = torchLinspace32(p.betaStart, p.betaEnd, p.trainSteps)
	case p.betaSchedule == "scaled_linear":
		betas = torchLinspace32(math.Sqrt(p.betaStart), math.Sqrt(p.betaEnd), p.trainSteps)
		for i, b := range betas {
			betas[i] = b * b
		}
	case p.betaSchedule == "squaredcos_cap_v2":
		betas = betasForAlphaBar(p.trainSteps)
	default:
		return nil, fmt.Errorf("beta_schedule %q is not supported", p.betaSchedule)
	}
	if p.rescaleZeroSNR {
		betas = rescaleZeroTerminalSNR(betas)
	}
	return cumprod(betas), nil
}

// cumprod is torch.cumprod(1 - betas) on CPU: a double accumulator, each
// partial product rounded to float32.
func cumprod(betas []float32) []float32 {
	out := make([]float32, len(betas))
	acc := 1.0
	for i, b := range betas {
		acc *= float64(1 - b)
		out[i] = float32(acc)
	}
	return out
}

// torchLinspace32 is torch.linspace(start, end, n, dtype=float32) as torch
// 1.13's AVX2 CPU kernel computes it: step = (end-start)/(n-1) in float32;
// index i below n/2 counts up from start, the rest down from end; whole
// 16-element pairs of 8-lane vectors take base + k·step from the lane-0
// value, the tail is scalar; the compiler fuses each multiply-add (FMA).
// This reproduces the fixture's alphas_cumprod bit for bit.
func torchLinspace32(start, end float64, n int) []float32 {
	out := make([]float32, n)
	if n == 1 {
		out[0] = float32(start)
		return out
	}
	s, e := float32(start), float32(end)
	step := (e - s) / float32(n-1)
	half := n / 2
	at := func(i int) float32 {
		if i < half {
			return fmaf(float32(i), step, s)
		}
		return fmaf(-step, float32(n-i-1), e)
	}
	i := 0
	for ; i+16 <= n; i += 8 {
		base := at(i)
		for k := 0; k < 8; k++ {
			out[i+k] = fmaf(float32(k), step, base)
		}
	}
	for ; i < n; i++ {
		out[i] = at(i)
	}
	return out
}

// betasForAlphaBar is diffusers' betas_for_alpha_bar with the cosine
// ᾱ(t) = cos²((t+0.008)/1.008·π/2) (Nichol & Dhariwal 2021, eq. 17) and
// max_beta 0.999, in float64 then float32.
func betasForAlphaBar(n int) []float32 {
	alphaBar := func(t float64) float64 {
		c := math.Cos((t + 0.008) / 1.008 * math.Pi / 2)
		return c * c
	}
	out := make([]float32, n)
	for i := range out {
		t1 := float64(i) / float64(n)
		t2 := float64(i+1) / float64(n)
		out[i] = float32(math.Min(1-alphaBar(t2)/alphaBar(t1), 0.999))
	}
	return out
}

// rescaleZeroTerminalSNR is diffusers' rescale_zero_terminal_snr in float32:
// shift and scale √ᾱ so that its last value is 0 and its first unchanged,
// then recover the betas.
func rescaleZeroTerminalSNR(betas []float32) []float32 {
	ac := cumprod(betas)
	s := make([]float32, len(ac))
	for i, a := range ac {
		s[i] = sqrt32(a)
	}
	s0, sT := s[0], s[len(s)-1]
	scale := s0 / (s0 - sT)
	bar := make([]float32, len(s))
	for i := range s {
		v := (s[i] - sT) * scale
		bar[i] = v * v
	}
	out := make([]float32, len(bar))
	out[0] = 1 - bar[0]
	for i := 1; i < len(bar); i++ {
		out[i] = 1 - bar[i]/bar[i-1]
	}
	return out
}

// trainSigmas is ((1-ᾱ)/ᾱ)**0.5 in float32, the k-diffusion σ of every
// training timestep.
func trainSigmas(ac []float32) []float32 {
	out := make([]float32, len(ac))
	for i, a := range ac {
		out[i] = sqrt32((1 - a) / a)
	}
	return out
}

// npLinspace is numpy.linspace(start, stop, n) in float64: start + i·step
// with the last value set to stop.
func npLinspace(start, stop float64, n int) []float64 {
	out := make([]float64, n)
	if n == 1 {
		out[0] = start
		return out
	}
	step := (stop - start) / float64(n-1)
	for i := range out {
		out[i] = float64(float64(i)*step) + start
	}
	out[n-1] = stop
	return out
}

// npArange is numpy.arange(start, stop, step) for float arguments: length
// ceil((stop-start)/step), values start + i·(first difference).
func npArange(start, stop, step float64) []float64 {
	n := int(math.Ceil((stop - start) / step))
	if n <= 0 {
		return nil
	}
	delta := (start + step) - start
	out := make([]float64, n)
	for i := range out {
		out[i] = start + float64(float64(i)*delta)
	}
	return out
}

// leading returns (arange(n)·(T//n)).round() + offset, descending: the
// "leading" spacing of Common Diffusion Noise Schedules (Lin et al. 2023,
// Table 2).
func leading(trainSteps, n, offset int) []float64 {
	ratio := trainSteps / n
	out := make([]float64, n)
	for i := range out {
		out[i] = float64((n-1-i)*ratio + offset)
	}
	return out
}

// trailing returns round(arange(T, 0, -T/n)) - 1, descending.
func trailing(trainSteps, n int) []float64 {
	out := npArange(float64(trainSteps), 0, -float64(trainSteps)/float64(n))
	for i, v := range out {
		out[i] = math.RoundToEven(v) - 1
	}
	return out
}

// npInterp is numpy.interp(x, arange(len(fp)), fp) in float64.
func npInterp(x float64, fp []float32) float64 {
	last := len(fp) - 1
	switch {
	case x <= 0:
		return float64(fp[0])
	case x >= float64(last):
		return float64(fp[last])
	}
	j := int(math.Floor(x))
	if float64(j) == x {
		return float64(fp[j])
	}
	slope := float64(fp[j+1]) - float64(fp[j]) // (fp[j+1]-fp[j]) / (xp[j+1]-xp[j])
	return float64(slope*(x-float64(j))) + float64(fp[j])
}

// karrasSigmas is _convert_to_karras: ρ = 7 interpolation between σmax and
// σmin (Karras et al. 2022, eq. 5) on numpy.linspace(0, 1, n), in float64.
func karrasSigmas(sigmaMin, sigmaMax float64, n int) []float64 {
	const rho = 7.0
	ramp := npLinspace(0, 1, n)
	minInv := math.Pow(sigmaMin, 1/rho)
	maxInv := math.Pow(sigmaMax, 1/rho)
	out := make([]float64, n)
	for i, r := range ramp {
		out[i] = math.Pow(maxInv+float64(r*(minInv-maxInv)), rho)
	}
	return out
}

// sigmaToT is _sigma_to_t: the fractional training timestep whose log σ
// linearly interpolates to log(sigma), using float32 log σ of the table.
func sigmaToT(sigma float64, logSigmas []float32) float64 {
	logSigma := math.Log(math.Max(sigma, 1e-10))
	// low is the last index with logSigmas[low] <= logSigma (0 if none),
	// clipped to len-2: numpy's cumsum(dists >= 0).argmax().
	low := 0
	for k, ls := range logSigmas {
		if logSigma-float64(ls) >= 0 {
			low = k
		}
	}
	low = min(low, len(logSigmas)-2)
	lo, hi := float64(logSigmas[low]), float64(logSigmas[low+1])
	w := (lo - logSigma) / (lo - hi)
	w = math.Max(0, math.Min(1, w))
	return float64((1-w)*float64(low)) + float64(w*float64(low+1))
}

// logTable is numpy.log of a float32 array (float32 results).
func logTable(v []float32) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = log32(x)
	}
	return out
}
