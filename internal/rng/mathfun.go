package rng

import (
	"math"

	"github.com/roentgen-dev/roentgen/internal/kernels"
)

// The numel >= 16 normal path runs on AVX2 through avx_mathfun.h (Giovanni
// Garberoglio's AVX port of Julien Pommier's sse_mathfun, after the Cephes
// single-precision logf and sinf/cosf). These are float32 emulations of
// log256_ps and sincos256_ps, including the multiply-adds that the compiler
// contracts into FMA instructions; fma32 marks each contracted pair.

// Cephes logf constants (avx_mathfun _ps256_cephes_log_*).
const (
	cephesSQRTHF = float32(0.707106781186547524)
	logP0        = float32(7.0376836292e-2)
	logP1        = float32(-1.1514610310e-1)
	logP2        = float32(1.1676998740e-1)
	logP3        = float32(-1.2420140846e-1)
	logP4        = float32(1.4249322787e-1)
	logP5        = float32(-1.6668057665e-1)
	logP6        = float32(2.0000714765e-1)
	logP7        = float32(-2.4999993993e-1)
	logP8        = float32(3.3333331174e-1)
	logQ1        = float32(-2.12194440e-4)
	logQ2        = float32(0.693359375)
)

// Cephes sinf/cosf constants (avx_mathfun _ps256_*).
const (
	minusDP1 = float32(-0.78515625)
	minusDP2 = float32(-2.4187564849853515625e-4)
	minusDP3 = float32(-3.77489497744594108e-8)
	sinP0    = float32(-1.9515295891e-4)
	sinP1    = float32(8.3321608736e-3)
	sinP2    = float32(-1.6666654611e-1)
	cosP0    = float32(2.443315711809948e-5)
	cosP1    = float32(-1.388731625493765e-3)
	cosP2    = float32(4.166664568298827e-2)
	fourOnPi = float32(1.27323954473516)
)

// log32 is log256_ps for one lane and a positive normal x (Box–Muller only
// passes u1 in [2^-24, 1]).
func log32(x float32) float32 {
	// 1. Split x = m * 2^e with m in [0.5, 1).
	bits := math.Float32bits(x)
	e := float32(int32(bits>>23) - 0x7f)
	m := math.Float32frombits(bits&^0x7f800000 | 0x3f000000)
	e++
	// 2. Fold m below √½ onto [√½, √2): x = m - 1 or 2m - 1 with e reduced.
	if m < cephesSQRTHF {
		e--
		m = (m - 1) + m
	} else {
		m--
	}
	// 3. log(1+m) ≈ m - m²/2 + m³·P(m), plus e·log 2 split into q2 + q1.
	z := m * m
	y := fma32(logP0, m, logP1)
	y = fma32(y, m, logP2)
	y = fma32(y, m, logP3)
	y = fma32(y, m, logP4)
	y = fma32(y, m, logP5)
	y = fma32(y, m, logP6)
	y = fma32(y, m, logP7)
	y = fma32(y, m, logP8)
	y = y * m
	y = fma32(y, z, float32(e*logQ1))
	y -= z * 0.5
	return fma32(e, logQ2, m+y)
}

// sincos32 is sincos256_ps for one lane and x >= 0 (Box–Muller's θ lies in
// [0, 2π)).
func sincos32(x float32) (sin, cos float32) {
	// 1. j = (int(x·4/π) + 1) &^ 1, the octant pair; y = float(j).
	j := (int32(x*fourOnPi) + 1) &^ 1
	y := float32(j)
	// 2. Sign flips and polynomial choice from j (cephes sinf/cosf).
	sinNeg := j&4 != 0
	cosNeg := (j-2)&4 == 0
	useSinPoly := j&2 != 0
	// 3. Extended-precision reduction x -= y·π/4 in three parts.
	x = fma32(y, minusDP1, x)
	x = fma32(y, minusDP2, x)
	x = fma32(y, minusDP3, x)
	// 4. Both polynomials on [-π/4, π/4].
	z := x * x
	c := fma32(cosP0, z, cosP1)
	c = fma32(c, z, cosP2)
	c = c * z
	c = fma32(c, z, -(z * 0.5))
	c++
	s := fma32(sinP0, z, sinP1)
	s = fma32(s, z, sinP2)
	s = s * z
	s = fma32(s, x, x)
	// 5. Select and apply the signs.
	if useSinPoly {
		sin, cos = c, s
	} else {
		sin, cos = s, c
	}
	if sinNeg {
		sin = -sin
	}
	if cosNeg {
		cos = -cos
	}
	return sin, cos
}

// fma32 is a*b+c rounded once to float32, like vfmadd*ps.
var fma32 = kernels.FMA32
