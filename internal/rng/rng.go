// Package rng reproduces PyTorch's CPU random generator (torch.Generator().manual_seed) so seeds give diffusers' latents.
//
// The reference is torch 1.13 (the fixture README's environment):
// aten/src/ATen/core/MT19937RNGEngine.h (the engine), CPUGeneratorImpl.cpp
// (random, random64 and the cached normal), core/DistributionsHelper.h and
// core/TransformationHelper.h (uniform_real_distribution,
// normal_distribution<double>) and native/cpu/DistributionKernels.cpp with
// DistributionTemplates.h (normal_fill and its AVX2 twin, which decides the
// numel >= 16 path).
package rng

import "math"

// Generator is torch's CPU generator: an mt19937 engine plus the cached
// second value of the double-precision Box–Muller. It is not safe for
// concurrent use.
type Generator struct {
	mt mt19937
	// next holds the sine half of the last scalar-path Box–Muller pair; torch
	// keeps it in the generator (next_double_normal_sample_) and returns it
	// before drawing again.
	next    float64
	hasNext bool
}

// New returns a generator in the state torch.Generator().manual_seed(seed)
// leaves: mt19937 seeded with the low 32 bits of seed and no cached normal.
func New(seed uint64) *Generator {
	g := &Generator{}
	g.mt.seed(uint32(seed))
	return g
}

// random is CPUGeneratorImpl::random: one 32-bit engine draw.
func (g *Generator) random() uint32 { return g.mt.next() }

// random64 is CPUGeneratorImpl::random64: two draws, the first one high.
func (g *Generator) random64() uint64 {
	hi := g.mt.next()
	lo := g.mt.next()
	return uint64(hi)<<32 | uint64(lo)
}

// uniformFloat is uniform_real_distribution<float>(0, 1): the low 24 bits of
// one 32-bit draw times 2^-24, so it lies in [0, 1).
func (g *Generator) uniformFloat() float32 {
	return float32(g.random()&(1<<24-1)) * (1.0 / (1 << 24))
}

// uniformDouble is uniform_real_distribution<double>(0, 1): the low 53 bits of
// one 64-bit draw times 2^-53.
func (g *Generator) uniformDouble() float64 {
	return float64(g.random64()&(1<<53-1)) * (1.0 / (1 << 53))
}

// normalDouble is at::normal_distribution<double>(0, 1): Box–Muller on two
// 53-bit uniforms, returning the cosine half and caching the sine half.
func (g *Generator) normalDouble() float64 {
	if g.hasNext {
		g.hasNext = false
		return g.next
	}
	u1 := g.uniformDouble()
	u2 := g.uniformDouble()
	r := math.Sqrt(-2 * math.Log(1-u2))
	theta := 2 * math.Pi * u1
	g.next, g.hasNext = r*math.Sin(theta), true
	return r * math.Cos(theta)
}

// Rand returns torch.rand(n, generator=g) in float32: one 24-bit uniform per
// element, in order.
func (g *Generator) Rand(n int) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = g.uniformFloat()
	}
	return out
}

// Randn returns torch.randn(shape, generator=g) for any shape with n
// elements, in float32. Like torch's normal_kernel it takes the vectorised
// Box–Muller path when n >= 16 and the scalar double path otherwise.
func (g *Generator) Randn(n int) []float32 {
	out := make([]float32, n)
	if n >= 16 {
		g.normalFill(out)
		return out
	}
	for i := range out {
		out[i] = float32(g.normalDouble())
	}
	return out
}

// normalFill is normal_fill / normal_fill_AVX2 with mean 0 and std 1:
//
//  1. fill all of data with float uniforms;
//  2. transform each whole block of 16 (u1 = 1-data[j], u2 = data[j+8]);
//  3. if len(data) % 16 != 0, draw the last 16 uniforms again and transform
//     that (overlapping) block once more.
func (g *Generator) normalFill(data []float32) {
	for i := range data {
		data[i] = g.uniformFloat()
	}
	n := len(data)
	for i := 0; i+16 <= n; i += 16 {
		boxMuller16(data[i : i+16])
	}
	if n%16 != 0 {
		tail := data[n-16:]
		for i := range tail {
			tail[i] = g.uniformFloat()
		}
		boxMuller16(tail)
	}
}

// twoPi is the float32 constant 2π that normal_fill_AVX2 broadcasts.
const twoPi = float32(2 * math.Pi)

// boxMuller16 is normal_fill_16_AVX2 on one block, in the float32 arithmetic
// of avx_mathfun's log256_ps and sincos256_ps (see mathfun.go).
func boxMuller16(d []float32) {
	for j := 0; j < 8; j++ {
		u1 := 1 - d[j]
		u2 := d[j+8]
		radius := sqrt32(-2 * log32(u1))
		sin, cos := sincos32(twoPi * u2)
		d[j] = radius * cos
		d[j+8] = radius * sin
	}
}

// sqrt32 is a correctly rounded float32 square root (vsqrtps). Rounding the
// float64 root is exact for float32 inputs.
func sqrt32(x float32) float32 { return float32(math.Sqrt(float64(x))) }
