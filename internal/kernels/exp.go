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
