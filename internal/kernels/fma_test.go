package kernels

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

// TestFMA32 compares with an exact big.Float evaluation rounded once.
func TestFMA32(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	cases := [][3]float32{{1, 1, 1}, {1 + 1.0/(1<<23), 1 - 1.0/(1<<23), -1}, {3, 1.0 / 3, -1}, {0, 0, 0}, {-1e30, 1e8, 1e38}}
	for range 20000 {
		cases = append(cases, [3]float32{float32(r.NormFloat64()), float32(r.NormFloat64() * 1e3), float32(r.NormFloat64() * 1e3)})
	}
	for _, c := range cases {
		exact := new(big.Float).SetPrec(200).SetFloat64(float64(c[0]))
		exact.Mul(exact, new(big.Float).SetFloat64(float64(c[1])))
		exact.Add(exact, new(big.Float).SetFloat64(float64(c[2])))
		want, _ := exact.Float32()
		if got := FMA32(c[0], c[1], c[2]); got != want && !(math.IsNaN(float64(got)) && math.IsNaN(float64(want))) {
			t.Fatalf("FMA32(%v) = %v, want %v", c, got, want)
		}
	}
}
