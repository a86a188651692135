package kernels

import "math"

// Constants of exp32, Cephes' expf: exp(x) = 2ⁿ·exp(r), r = x - n·ln2 in
// [-ln2/2, ln2/2], exp(r) ≈ 1 + r + r²·P(r) (relative error < 2 ulp).
const (
	expLog2e = 1.44269504088896341
	expLn2Hi = 0.693359375
	expLn2Lo = -2.12194440e-4
	expP0    = 1.9875691500e-4
	expP1    = 1.3981999507e-3
	expP2    = 8.3334519073e-3
	expP3    = 4.1665795894e-2
	expP4    = 1.6666665459e-1
	expP5    = 5.0000001201e-1
	expMin   = -87.33654 // ln of the smallest normal float32; below it exp32 returns 0
	expMax   = 88.37626
)

// exp32 is a float32 exp accurate to about 2 ulp that flushes results
// below the smallest normal to zero; it mirrors the vector form in
// exp_amd64.s step by step.
func exp32(x float32) float32 {
	if !(x >= expMin) { // NaN falls through to the math below
		if x < expMin {
			return 0
		}
		return x
	}
	if x > expMax {
		return float32(math.Inf(1))
	}
	n := float32(math.RoundToEven(float64(x * expLog2e)))
	r := x - n*expLn2Hi
	r -= n * expLn2Lo
	p := float32(expP0)
	p = p*r + expP1
	p = p*r + expP2
	p = p*r + expP3
	p = p*r + expP4
	p = p*r + expP5
	y := p*r*r + r + 1
	return y * math.Float32frombits(uint32(int32(n)+127)<<23)
}

// Constants of exp2For, the base-2 exp of the attention softmax: 2^x =
// 2^n·2^r, n = round(x) by adding and subtracting exp2Magic (1.5·2^23 + 127,
// whose low mantissa bits then hold n + 127, the exponent field of 2^n),
// r = x - n in [-½, ½] exactly, and 2^r from a degree-6 Chebyshev fit
// (relative error < 0.7 ulp).
const (
	exp2Magic = 12583039 // 1.5·2^23 + 127
	exp2Min   = -126     // below it exp2For returns 0
	exp2C0    = 1.0
	exp2C1    = 0.6931471824645996
	exp2C2    = 0.24022650718688965
	exp2C3    = 0.05550327152013779
	exp2C4    = 0.009618056938052177
	exp2C5    = 0.0013400427997112274
	exp2C6    = 0.00015461444854736328
)

// exp2For is 2^x for the attention softmax (x at most rescaleSlack); it
// mirrors softmaxColsAVX2's vector form step by step, and flushes results
// below the smallest normal to zero.
func exp2For(x float32) float32 {
	if !(x >= exp2Min) { // NaN falls through to the math below
		if x < exp2Min {
			return 0
		}
		return x
	}
	t := x + exp2Magic
	n := t - exp2Magic
	r := x - n
	p := float32(exp2C6)
	p = p*r + exp2C5
	p = p*r + exp2C4
	p = p*r + exp2C3
	p = p*r + exp2C2
	p = p*r + exp2C1
	p = p*r + exp2C0
	return p * math.Float32frombits(math.Float32bits(t)<<23)
}

// sigmoidMulGo is the loop behind SiLU, QuickGELU and GroupNorm's fused SiLU:
//
//	for i, v := range src {
//		y := v*a + b
//		dst[i] = y / (1 + exp32(-k*y))
//	}
func sigmoidMulGo(dst, src []float32, a, b, k float32) {
	dst = dst[:len(src)]
	for i, v := range src {
		y := v*a + b
		dst[i] = y / (1 + exp32(-k*y))
	}
}
