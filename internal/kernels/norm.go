package kernels

import (
	"fmt"
	"math"
)

// GroupNorm normalises x [N, C, HW] over groups of C/groups channels and
// applies the per-channel affine gamma, beta, then SiLU if silu is set. The
// statistics are two-pass float64 sums, exact enough for groups of millions
// of elements. out may be x: each group is read whole before it is
// written. The naive reference is
//
//	for n, g := range [N, groups] {
//		xs := x[n, g*C/groups : (g+1)*C/groups, :]
//		mean := Σ xs / len(xs)
//		vr := Σ (xs-mean)² / len(xs)
//		for c, i := range xs {
//			y := (x[n,c,i]-mean)/sqrt(vr+eps)*gamma[c] + beta[c]
//			if silu { y = y * sigmoid(y) }
//			out[n,c,i] = y
//		}
//	}
func GroupNorm(out, x, gamma, beta []float32, n, c, hw, groups int, eps float32, silu bool) {
	if groups < 1 || c%groups != 0 {
		panic(fmt.Sprintf("kernels.GroupNorm: %d channels do not split into %d groups", c, groups))
	}
	needLen("GroupNorm", "out", len(out), n*c*hw)
	needLen("GroupNorm", "x", len(x), n*c*hw)
	needLen("GroupNorm", "gamma", len(gamma), c)
	needLen("GroupNorm", "beta", len(beta), c)
	cg := c / groups
	size := cg * hw
	parallelFor(n*groups, func(t int) {
		ni, gi := t/groups, t%groups
		off := (ni*c + gi*cg) * hw
		mean, rstd := moments(x[off:off+size], eps)
		for ch := gi * cg; ch < (gi+1)*cg; ch++ {
			a := float32(rstd) * gamma[ch]
			b := beta[ch] - float32(mean)*a
			o := (ni*c + ch) * hw
			affine(out[o:o+hw], x[o:o+hw], a, b, silu)
		}
	})
}

// LayerNorm normalises each row of x [rows, cols] and applies gamma, beta:
//
//	for r := range rows {
//		mean := Σ x[r,:] / cols
//		vr := Σ (x[r,:]-mean)² / cols
//		out[r,j] = (x[r,j]-mean)/sqrt(vr+eps)*gamma[j] + beta[j]
//	}
func LayerNorm(out, x, gamma, beta []float32, rows, cols int, eps float32) {
	needLen("LayerNorm", "out", len(out), rows*cols)
	needLen("LayerNorm", "x", len(x), rows*cols)
	needLen("LayerNorm", "gamma", len(gamma), cols)
	needLen("LayerNorm", "beta", len(beta), cols)
	parallelRange(rows, max(1, 16384/max(cols, 1)), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			xs, os := x[r*cols:(r+1)*cols], out[r*cols:(r+1)*cols]
			mean, rstd := moments(xs, eps)
			m, s := float32(mean), float32(rstd)
			for j, v := range xs {
				os[j] = (v-m)*s*gamma[j] + beta[j]
			}
		}
	})
}

// moments returns the mean of xs and 1/sqrt(variance+eps), both from float64
// sums over two passes, each kept as four partial sums over the elements
// i ≡ 0, 1, 2, 3 (mod 4) (sum4 and sqDev4, vector forms on amd64).
func moments(xs []float32, eps float32) (mean, rstd float64) {
	if len(xs) == 0 {
		return 0, 1 / math.Sqrt(float64(eps))
	}
	n4 := len(xs) / 4
	var s [4]float64
	sum4(xs[:4*n4], &s)
	for _, v := range xs[4*n4:] {
		s[0] += float64(v)
	}
	mean = (s[0] + s[1] + s[2] + s[3]) / float64(len(xs))
	sqDev4(xs[:4*n4], mean, &s)
	for _, v := range xs[4*n4:] {
		d := float64(v) - mean
		s[0] += float64(d * d)
	}
	vr := (s[0] + s[1] + s[2] + s[3]) / float64(len(xs))
	return mean, 1 / math.Sqrt(vr+float64(eps))
}

// sum4Go sets s[j] to the sum of xs[i] over i ≡ j (mod 4), in order;
// len(xs) is a multiple of 4.
func sum4Go(xs []float32, s *[4]float64) {
	*s = [4]float64{}
	for i := 0; i+4 <= len(xs); i += 4 {
		v := xs[i : i+4 : i+4]
		s[0] += float64(v[0])
		s[1] += float64(v[1])
		s[2] += float64(v[2])
		s[3] += float64(v[3])
	}
}

// sqDev4Go is sum4Go of the squared deviations from mean. The
// conversions keep each square rounded before it is added, as the vector
// form does.
func sqDev4Go(xs []float32, mean float64, s *[4]float64) {
	*s = [4]float64{}
	for i := 0; i+4 <= len(xs); i += 4 {
		v := xs[i : i+4 : i+4]
		d0, d1, d2, d3 := float64(v[0])-mean, float64(v[1])-mean, float64(v[2])-mean, float64(v[3])-mean
		s[0] += float64(d0 * d0)
		s[1] += float64(d1 * d1)
		s[2] += float64(d2 * d2)
		s[3] += float64(d3 * d3)
	}
}

// affine writes out = x*a + b, followed by SiLU if silu is set.
func affine(out, x []float32, a, b float32, silu bool) {
	if silu {
		sigmoidMul(out, x, a, b, 1)
		return
	}
	out = out[:len(x)]
	for i, v := range x {
		out[i] = v*a + b
	}
}
