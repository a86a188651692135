package kernels

import (
	"math"
	"testing"
)

func naiveNorm(x, gamma, beta []float32, chans, per int, eps float32, silu bool) []float64 {
	var s, s2 float64
	for _, v := range x {
		s += float64(v)
	}
	mean := s / float64(len(x))
	for _, v := range x {
		s2 += (float64(v) - mean) * (float64(v) - mean)
	}
	rstd := 1 / math.Sqrt(s2/float64(len(x))+float64(eps))
	out := make([]float64, len(x))
	for c := range chans {
		for i := range per {
			y := (float64(x[c*per+i])-mean)*rstd*float64(gamma[c]) + float64(beta[c])
			if silu {
				y /= 1 + math.Exp(-y)
			}
			out[c*per+i] = y
		}
	}
	return out
}

func TestGroupNorm(t *testing.T) {
	for _, c := range []struct{ n, c, hw, g int }{{1, 1, 1, 1}, {2, 6, 7, 3}, {1, 64, 33, 32}, {2, 10, 5, 10}} {
		for _, silu := range []bool{false, true} {
			x, gamma, beta := randSlice(1, c.n*c.c*c.hw), randSlice(2, c.c), randSlice(3, c.c)
			for i := range x {
				x[i] = 3*x[i] + 5 // offset mean: catches one-pass variance
			}
			out := nanSlice(len(x))
			GroupNorm(out, x, gamma, beta, c.n, c.c, c.hw, c.g, 1e-5, silu)
			cg := c.c / c.g
			want := make([]float64, 0, len(x))
			for n := range c.n {
				for g := range c.g {
					off := (n*c.c + g*cg) * c.hw
					want = append(want, naiveNorm(x[off:off+cg*c.hw], gamma[g*cg:], beta[g*cg:], cg, c.hw, 1e-5, silu)...)
				}
			}
			checkClose(t, name("%+v silu=%v", c, silu), out, want, 1e-5, 1e-5)
			// In place (out = x), as the graph planner may run it: the same bits.
			GroupNorm(x, x, gamma, beta, c.n, c.c, c.hw, c.g, 1e-5, silu)
			for i := range x {
				if math.Float32bits(x[i]) != math.Float32bits(out[i]) {
					t.Fatalf("%+v silu=%v: in place [%d] = %v, want %v", c, silu, i, x[i], out[i])
				}
			}
		}
	}
}

// TestGroupNormLarge checks the statistics of a group of 2²¹ elements with a
// large mean, where single-pass float32 sums lose the variance.
func TestGroupNormLarge(t *testing.T) {
	const hw = 1 << 19
	x, gamma, beta := randSlice(4, 4*hw), []float32{1, 1, 1, 1}, make([]float32, 4)
	for i := range x {
		x[i] = 1000 + x[i]
	}
	out := make([]float32, len(x))
	GroupNorm(out, x, gamma, beta, 1, 4, hw, 1, 1e-6, false)
	checkClose(t, "2^21 group", out, naiveNorm(x, gamma, beta, 4, hw, 1e-6, false), 2e-3, 2e-3)
}

func TestLayerNorm(t *testing.T) {
	for _, sz := range [][2]int{{1, 1}, {3, 7}, {77, 768}, {5, 1025}} {
		rows, cols := sz[0], sz[1]
		x, gamma, beta := randSlice(1, rows*cols), randSlice(2, cols), randSlice(3, cols)
		out := nanSlice(len(x))
		LayerNorm(out, x, gamma, beta, rows, cols, 1e-5)
		var want []float64
		for r := range rows {
			xs := x[r*cols : (r+1)*cols]
			want = append(want, layerRow(xs, gamma, beta, 1e-5)...)
		}
		checkClose(t, name("%v", sz), out, want, 1e-5, 1e-5)
	}
}

func layerRow(xs, gamma, beta []float32, eps float32) []float64 {
	ones, zeros := make([]float32, len(xs)), make([]float32, len(xs))
	for i := range ones {
		ones[i] = 1
	}
	n := naiveNorm(xs, ones, zeros, len(xs), 1, eps, false)
	for i := range n {
		n[i] = n[i]*float64(gamma[i]) + float64(beta[i])
	}
	return n
}

// TestMomentsPassesMatchGo checks that the vector forms of moments' two
// passes give the pure-Go forms' bits.
func TestMomentsPassesMatchGo(t *testing.T) {
	for _, n := range []int{0, 16, 32, 48, 4096, 100000} {
		xs := randSlice(uint64(n)+1, n)
		for i := range xs {
			xs[i] = 3 + 100*xs[i] // an offset mean, as activations have
		}
		var got, want [16]float64
		sum16(xs, &got)
		sum16Go(xs, &want)
		if got != want {
			t.Errorf("n=%d: sum16 %v, Go %v", n, got, want)
		}
		sqDev16(xs, 3.25, &got)
		sqDev16Go(xs, 3.25, &want)
		if got != want {
			t.Errorf("n=%d: sqDev16 %v, Go %v", n, got, want)
		}
	}
}

// TestNormRowMatchesGo checks LayerNorm's vector row affine against
// normRowGo bit for bit, with tails.
func TestNormRowMatchesGo(t *testing.T) {
	for _, n := range []int{1, 7, 8, 9, 320, 1283} {
		x, gamma, beta := randSlice(1, n), randSlice(2, n), randSlice(3, n)
		got, want := nanSlice(n), nanSlice(n)
		normRow(got, x, gamma, beta, 0.37, 1.9)
		normRowGo(want, x, gamma, beta, 0.37, 1.9)
		for i := range want {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("n=%d: [%d] = %v, Go %v", n, i, got[i], want[i])
			}
		}
	}
}
