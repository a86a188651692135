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
			normRow(os, xs, gamma, beta, float32(mean), float32(rstd))
		}
	})
}

// moments returns the mean of xs and 1/sqrt(variance+eps), both from float64
// sums over two passes, each kept as sixteen partial sums over the elements
// i ≡ 0 … 15 (mod 16) (sum16 and sqDev16, vector forms on amd64) and then
// added in index order.
func moments(xs []float32, eps float32) (mean, rstd float64) {
	if len(xs) == 0 {
		return 0, 1 / math.Sqrt(float64(eps))
	}
	body := len(xs) / 16 * 16
	var s [16]float64
	sum16(xs[:body], &s)
	for _, v := range xs[body:] {
		s[0] += float64(v)
	}
	mean = total(&s) / float64(len(xs))
	sqDev16(xs[:body], mean, &s)
	for _, v := range xs[body:] {
		d := float64(v) - mean
		s[0] += float64(d * d)
	}
	vr := total(&s) / float64(len(xs))
	return mean, 1 / math.Sqrt(vr+float64(eps))
}

// normRowGo is LayerNorm's affine for one row: out = (x-m)*s*gamma + beta.
func normRowGo(out, x, gamma, beta []float32, m, s float32) {
	out, gamma, beta = out[:len(x)], gamma[:len(x)], beta[:len(x)]
	for j, v := range x {
		out[j] = (v-m)*s*gamma[j] + beta[j]
	}
}

// total adds the partial sums in index order.
func total(s *[16]float64) float64 {
	var t float64
	for _, v := range s {
		t += v
	}
	return t
}

// sum16Go sets s[j] to the sum of xs[i] over i ≡ j (mod 16), in order;
// len(xs) is a multiple of 16.
func sum16Go(xs []float32, s *[16]float64) {
	*s = [16]float64{}
	for i := 0; i+16 <= len(xs); i += 16 {
		for j, v := range xs[i : i+16 : i+16] {
			s[j] += float64(v)
		}
	}
}

// sqDev16Go is sum16Go of the squared deviations from mean. The
// conversions keep each square rounded before it is added, as the vector
// form does.
func sqDev16Go(xs []float32, mean float64, s *[16]float64) {
	*s = [16]float64{}
	for i := 0; i+16 <= len(xs); i += 16 {
		for j, v := range xs[i : i+16 : i+16] {
			d := float64(v) - mean
			s[j] += float64(d * d)
		}
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
