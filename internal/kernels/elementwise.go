package kernels

import "math"

// elemChunk is the fixed slice length one task of an elementwise kernel covers.
const elemChunk = 1 << 14

// mapChunks runs fn over [0, n) in fixed chunks, in parallel for large n.
func mapChunks(n int, fn func(lo, hi int)) {
	if n <= elemChunk {
		fn(0, n)
		return
	}
	parallelRange(n, elemChunk, fn)
}

// SiLU writes out[i] = x[i] * sigmoid(x[i]) = x[i] / (1 + exp(-x[i])); out may alias x.
func SiLU(out, x []float32) { Activate(ActSiLU, out, x) }

// QuickGELU writes out[i] = x[i] * sigmoid(1.702*x[i]) (CLIP's activation); out may alias x.
func QuickGELU(out, x []float32) { Activate(ActQuickGELU, out, x) }

// GELU writes the exact (erf) GELU, out[i] = 0.5*x*(1 + erf(x/√2)); out may
// alias x. The pure-Go form evaluates it in float64 and rounds once; the
// amd64 form is within a few ulp of that.
func GELU(out, x []float32) { Activate(ActGELU, out, x) }

// geluMulGo is geluGo followed by dst[i] *= mul[i].
func geluMulGo(dst, src, mul []float32) {
	geluGo(dst, src)
	for i, v := range mul[:len(src)] {
		dst[i] *= v
	}
}

// geluGo is the float64 reference form of GELU.
func geluGo(dst, src []float32) {
	dst = dst[:len(src)]
	for i, v := range src {
		// 1 + erf(u) = erfc(-u), which keeps full precision for u ≪ 0.
		x := float64(v)
		dst[i] = float32(0.5 * x * math.Erfc(-x*(1/math.Sqrt2)))
	}
}

// GEGLU splits each row of x [rows, 2n] into hidden x[:, :n] and gate
// x[:, n:] (diffusers' GEGLU: hidden, gate = proj(x).chunk(2)) and writes
// out [rows, n]:
//
//	out[r, j] = x[r, j] * GELU(x[r, n+j])
func GEGLU(out, x []float32, rows, n int) {
	needLen("GEGLU", "out", len(out), rows*n)
	needLen("GEGLU", "x", len(x), rows*2*n)
	parallelRange(rows, max(1, elemChunk/max(n, 1)), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			h, g, o := x[2*r*n:2*r*n+n], x[2*r*n+n:2*r*n+2*n], out[r*n:r*n+n]
			geluMul32(o, g, h)
		}
	})
}

// Add writes out[i] = a[i] + b[i]; out may alias a or b.
func Add(out, a, b []float32) {
	out, b = out[:len(a)], b[:len(a)]
	mapChunks(len(a), func(lo, hi int) {
		for i, v := range a[lo:hi] {
			out[lo+i] = v + b[lo+i]
		}
	})
}

// AddScaled writes out[i] = a[i] + s*b[i]; out may alias a or b.
func AddScaled(out, a []float32, s float32, b []float32) {
	out, b = out[:len(a)], b[:len(a)]
	mapChunks(len(a), func(lo, hi int) {
		for i, v := range a[lo:hi] {
			out[lo+i] = v + s*b[lo+i]
		}
	})
}

// Mul writes out[i] = a[i] * b[i]; out may alias a or b.
func Mul(out, a, b []float32) {
	out, b = out[:len(a)], b[:len(a)]
	mapChunks(len(a), func(lo, hi int) {
		for i, v := range a[lo:hi] {
			out[lo+i] = v * b[lo+i]
		}
	})
}

// Scale writes out[i] = s * x[i]; out may alias x.
func Scale(out []float32, s float32, x []float32) {
	out = out[:len(x)]
	mapChunks(len(x), func(lo, hi int) {
		for i, v := range x[lo:hi] {
			out[lo+i] = s * v
		}
	})
}

// Softmax writes the softmax of each row of x [rows, cols] to out (may alias x):
//
//	m := max(x[r, :])
//	out[r, j] = exp(x[r, j]-m) / Σ_j exp(x[r, j]-m)
func Softmax(out, x []float32, rows, cols int) {
	needLen("Softmax", "out", len(out), rows*cols)
	needLen("Softmax", "x", len(x), rows*cols)
	parallelRange(rows, max(1, elemChunk/max(cols, 1)), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			xs, os := x[r*cols:(r+1)*cols], out[r*cols:(r+1)*cols]
			m := float32(math.Inf(-1))
			for _, v := range xs {
				m = max(m, v)
			}
			var s float64
			for j, v := range xs {
				e := exp32(v - m)
				os[j] = e
				s += float64(e)
			}
			inv := float32(1 / s)
			for j := range os {
				os[j] *= inv
			}
		}
	})
}

// UpsampleNearest resizes x [nc, h, w] to out [nc, oh, ow] with PyTorch's
// "nearest" rule, src = min(floor(dst * float32(in)/float32(out)), in-1),
// computed in float32 as ATen's nearest_idx does:
//
//	out[c, y, x] = x[c, nearest(y, h, oh), nearest(x, w, ow)]
func UpsampleNearest(out, x []float32, nc, h, w, oh, ow int) {
	needLen("UpsampleNearest", "out", len(out), nc*oh*ow)
	needLen("UpsampleNearest", "x", len(x), nc*h*w)
	ys, xs := nearestIndex(h, oh), nearestIndex(w, ow)
	parallelRange(nc, max(1, elemChunk/max(oh*ow, 1)), func(lo, hi int) {
		for c := lo; c < hi; c++ {
			src, dst := x[c*h*w:(c+1)*h*w], out[c*oh*ow:(c+1)*oh*ow]
			for y, sy := range ys {
				d := dst[y*ow : (y+1)*ow]
				if y > 0 && ys[y-1] == sy { // a repeated source row: copy the row just made
					copy(d, dst[(y-1)*ow:y*ow])
					continue
				}
				row := src[sy*w : (sy+1)*w]
				if ow == 2*w { // exact doubling, the VAE's and U-Net's case
					d = d[:2*len(row)]
					for j, v := range row {
						d[2*j], d[2*j+1] = v, v
					}
					continue
				}
				for j, sx := range xs {
					d[j] = row[sx]
				}
			}
		}
	})
}

// nearestIndex mirrors ATen's nearest_idx (UpSample.h): identity for equal
// sizes, a shift for exact doubling, otherwise floor(dst*scale) in float32
// clamped to in-1.
func nearestIndex(in, out int) []int {
	idx := make([]int, out)
	scale := float32(in) / float32(out)
	for d := range idx {
		switch {
		case in == out:
			idx[d] = d
		case out == 2*in:
			idx[d] = d >> 1
		default:
			idx[d] = min(int(float32(d)*scale), in-1)
		}
	}
	return idx
}
