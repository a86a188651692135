package kernels

import "math"

// FMA32 returns a*b+c rounded once to float32, as a vfmadd*ps instruction
// does (reproducing PyTorch's compiled float32 arithmetic needs it). The
// float64 product of two float32s is exact; the sum is rounded to odd in
// float64 so that the final rounding to float32 is correct. The naive
// reference is float32(big.Float(a)*b+c) with one rounding.
func FMA32(a, b, c float32) float32 {
	p, cc := float64(a)*float64(b), float64(c)
	s := p + cc
	bb := s - p
	if err := (p - (s - bb)) + (cc - bb); err != 0 {
		bits := math.Float64bits(s)
		if bits&1 == 0 {
			if (err > 0) == (s > 0) {
				bits++
			} else {
				bits--
			}
		}
		s = math.Float64frombits(bits)
	}
	return float32(s)
}
