package kernels

import "fmt"

// Conv2DParams is the geometry of a 2-D convolution over NCHW images with
// zero padding, and the activation applied to its outputs.
type Conv2DParams struct {
	N, Cin, H, W, Cout, KH, KW, Stride, Pad int
	// Act, unless ActNone, is applied to each output after bias and
	// residual, as the outputs are finished (the bits of Conv2D followed by
	// Activate).
	Act Act
}

// OutHW returns the output height and width, (H + 2*Pad - KH)/Stride + 1 and
// likewise for the width.
func (p Conv2DParams) OutHW() (oh, ow int) {
	return (p.H+2*p.Pad-p.KH)/p.Stride + 1, (p.W+2*p.Pad-p.KW)/p.Stride + 1
}

// Conv2D computes a convolution of x [N, Cin, H, W] with weight
// [Cout, Cin, KH, KW] into out [N, Cout, OH, OW], adding bias [Cout] (may be
// nil) and then residual (same shape as out, may be nil). The naive reference is
//
//	for n, co, oy, ox := range out {
//		s := float32(0)
//		for ci := 0; ci < Cin; ci++ {
//			for ky := 0; ky < KH; ky++ {
//				for kx := 0; kx < KW; kx++ {
//					iy, ix := oy*Stride-Pad+ky, ox*Stride-Pad+kx
//					if 0 <= iy && iy < H && 0 <= ix && ix < W {
//						s += x[n, ci, iy, ix] * weight[co, ci, ky, kx]
//					}
//				}
//			}
//		}
//		out[n, co, oy, ox] = Act(s + bias[co] + residual[n, co, oy, ox])
//	}
//
// It runs as one GEMM per image, weight [Cout, Cin*KH*KW] times the implicit
// im2col matrix [Cin*KH*KW, OH*OW], whose panels are packed straight from
// the image; bias and residual are added to each finished output tile, and
// the activation applied to it.
// Small images of a batch share one GEMM (conv2DDirectBatch), and 3×3
// stride-1 convolutions of larger ones run as Winograd (winogradAlgo).
func Conv2D(out, x []float32, w Weights, bias, residual []float32, p Conv2DParams) {
	if p.Stride < 1 || p.Pad < 0 || p.KH < 1 || p.KW < 1 {
		panic(fmt.Sprintf("kernels.Conv2D: bad geometry %+v", p))
	}
	oh, ow := p.OutHW()
	needLen("Conv2D", "out", len(out), p.N*p.Cout*oh*ow)
	needLen("Conv2D", "x", len(x), p.N*p.Cin*p.H*p.W)
	needLen("Conv2D", "w", w.len("Conv2D"), p.Cout*p.Cin*p.KH*p.KW)
	if bias != nil {
		needLen("Conv2D", "bias", len(bias), p.Cout)
	}
	if residual != nil {
		needLen("Conv2D", "residual", len(residual), p.N*p.Cout*oh*ow)
	}
	conv2D(active, out, x, w, bias, residual, p)
}

// Conv2DAlgorithm names the algorithm Conv2D runs p with: "direct" (one
// im2col GEMM per image, or one for a batch of small images) or a Winograd
// algorithm such as "F(4x4,3x3)".
func Conv2DAlgorithm(p Conv2DParams) string {
	if a := winogradAlgo(p); a != nil {
		return a.name
	}
	return "direct"
}

func conv2D(mk *microKernel, out, x []float32, w Weights, bias, residual []float32, p Conv2DParams) {
	if a := winogradAlgo(p); a != nil {
		conv3x3Winograd(mk, a, out, x, w, bias, residual, p)
		return
	}
	conv2DDirect(mk, out, x, w, bias, residual, p)
}

// conv2DDirect is conv2D as one im2col GEMM per image, or one for the whole
// batch when the images are small (conv2DDirectBatch).
func conv2DDirect(mk *microKernel, out, x []float32, w Weights, bias, residual []float32, p Conv2DParams) {
	oh, ow := p.OutHW()
	ohw, hw := oh*ow, p.H*p.W
	k := p.Cin * p.KH * p.KW
	if p.N > 1 && ohw < directBatchPixels && k*p.N*ohw <= directBatchFloats {
		conv2DDirectBatch(mk, out, x, w, bias, residual, p)
		return
	}
	for n := range p.N {
		img := x[n*p.Cin*hw : (n+1)*p.Cin*hw]
		o := out[n*p.Cout*ohw : (n+1)*p.Cout*ohw]
		g := gemmOp{m: p.Cout, n: ohw, k: k, alpha: 1, c: o, ldc: ohw,
			packA: w.packer(k, p.Cout, true),
		}
		if p.KH == 1 && p.KW == 1 && p.Stride == 1 && p.Pad == 0 {
			g.packB = matPacker(img, hw, hw, false)
		} else {
			g.packB = im2colPacker(img, p, oh, ow)
		}
		var res []float32
		if residual != nil {
			res = residual[n*p.Cout*ohw : (n+1)*p.Cout*ohw]
		}
		g.addRows(bias, res)
		g.act = p.Act
		g.run(mk)
	}
}

// Limits of conv2DDirectBatch: output pixels per image below which the
// images share one GEMM, and the largest explicit im2col matrix (floats).
const (
	directBatchPixels = 16 * 16
	directBatchFloats = 8 << 20
)

// conv2DDirectBatch is conv2DDirect for small images: with a few pixels per
// image, packing the weights costs more than the products, so the images'
// im2col matrices are written side by side as the columns of one GEMM and
// the weights are packed once for all of them. Every output element sees
// the same depth blocking and micro-kernel arithmetic as in a GEMM of its
// own image, and bias and residual are added afterwards with the rounding
// the per-image path's kernel uses (addBiasRows), so the result is bit for
// bit that of the per-image path.
func conv2DDirectBatch(mk *microKernel, out, x []float32, w Weights, bias, residual []float32, p Conv2DParams) {
	oh, ow := p.OutHW()
	ohw, hw := oh*ow, p.H*p.W
	k, cols := p.Cin*p.KH*p.KW, p.N*ohw
	bb, cb := getBuf(k*cols), getBuf(p.Cout*cols)
	defer putBuf(bb)
	defer putBuf(cb)
	b, c := (*bb)[:k*cols], (*cb)[:p.Cout*cols]
	// Image n's im2col matrix fills columns [n*ohw, (n+1)*ohw) of b, an
	// output row per task.
	parallelFor(p.N*oh, func(t int) {
		n, oy := t/oh, t%oh
		im2colRun(b[n*ohw+oy*ow:], x[n*p.Cin*hw:(n+1)*p.Cin*hw], p, oy, 0, ow, 0, k, cols)
	})
	g := gemmOp{m: p.Cout, n: cols, k: k, alpha: 1, c: c, ldc: cols,
		packA: w.packer(k, p.Cout, true),
		packB: matPacker(b, cols, cols, false),
	}
	g.run(mk)
	// Each image's rows of C, then its bias and residual as in conv2DDirect.
	parallelFor(p.N, func(n int) {
		o := out[n*p.Cout*ohw : (n+1)*p.Cout*ohw]
		for co := range p.Cout {
			copy(o[co*ohw:(co+1)*ohw], c[co*cols+n*ohw:])
		}
		var res []float32
		if residual != nil {
			res = residual[n*p.Cout*ohw : (n+1)*p.Cout*ohw]
		}
		if add := addBiasRows(o, ohw, bias, res); add != nil {
			add(0, p.Cout, 0, ohw)
		}
		p.Act.applyRows(o, ohw, 0, p.Cout, 0, ohw)
	})
}

// im2colPacker packs panels of the implicit im2col matrix of one image:
// depth p = (ci*KH + ky)*KW + kx, column j = oy*OW + ox.
func im2colPacker(img []float32, p Conv2DParams, oh, ow int) func(dst []float32, j0, cols, p0, kc, w int) {
	ohw := oh * ow
	return func(dst []float32, j0, cols, p0, kc, w int) {
		var offBuf [kcMax]int32
		var offs []int32
		if p.Stride == 1 && len(img) < 1<<31 && kc <= kcMax {
			offs = offBuf[:kc]
			tapOffsets(offs, p, p0)
		}
		for q := 0; q < cols; q += w {
			valid := min(w, ohw-j0-q)
			d := dst[q*kc : q*kc+kc*w]
			if offs != nil && valid == w {
				// An interior panel (one output row, every tap inside the
				// image) is a gather of w contiguous floats per depth.
				oy, ox0 := (j0+q)/ow, (j0+q)%ow
				iy0, ix0 := oy-p.Pad, ox0-p.Pad
				if ox0+w <= ow && iy0 >= 0 && iy0+p.KH <= p.H && ix0 >= 0 && ix0+w-1+p.KW <= p.W {
					gatherRows(d, img, iy0*p.W+ix0, offs, w)
					continue
				}
			}
			if valid < w {
				for kk := range kc {
					clear(d[kk*w+valid : kk*w+w])
				}
			}
			// Split the panel's lanes into runs that share an output row.
			for l := 0; l < valid; {
				oy, ox0 := (j0+q+l)/ow, (j0+q+l)%ow
				run := min(valid-l, ow-ox0)
				im2colRun(d[l:], img, p, oy, ox0, run, p0, kc, w)
				l += run
			}
		}
	}
}

// tapOffsets sets offs[kk], for depth p0+kk = (ci, ky, kx), to the offset
// of that tap from the top-left input pixel of an output pixel:
// (ci*H + ky)*W + kx.
func tapOffsets(offs []int32, p Conv2DParams, p0 int) {
	for kk := range offs {
		pk := p0 + kk
		kx, ky, ci := pk%p.KW, (pk/p.KW)%p.KH, pk/(p.KW*p.KH)
		offs[kk] = int32((ci*p.H+ky)*p.W + kx)
	}
}

// gatherRowsGo is the pure-Go form of gatherRows:
//
//	for kk, off := range offs {
//		copy(dst[kk*w:(kk+1)*w], src[base+off:])
//	}
func gatherRowsGo(dst, src []float32, base int, offs []int32, w int) {
	for kk, off := range offs {
		copyRun(dst[kk*w:(kk+1)*w], src[base+int(off):base+int(off)+w])
	}
}

// im2colRun writes d[kk*w+t] = x[ci, oy*S-P+ky, (ox0+t)*S-P+kx] for t < run
// and depth p0+kk = (ci, ky, kx), with zeros for taps outside the image.
func im2colRun(d, img []float32, p Conv2DParams, oy, ox0, run, p0, kc, w int) {
	kx, ky, ci := p0%p.KW, (p0/p.KW)%p.KH, p0/(p.KW*p.KH)
	s := p.Stride
	for kk := range kc {
		dd := d[kk*w : kk*w+run]
		iy := oy*s - p.Pad + ky
		switch {
		case iy < 0 || iy >= p.H:
			clear(dd)
		case s == 1:
			row := img[(ci*p.H+iy)*p.W : (ci*p.H+iy+1)*p.W]
			ix0 := ox0 - p.Pad + kx
			lo, hi := max(0, -ix0), min(run, p.W-ix0)
			if lo == 0 && hi == run {
				copyRun(dd, row[ix0:ix0+run])
				break
			}
			clear(dd)
			if lo < hi {
				copy(dd[lo:hi], row[ix0+lo:ix0+hi])
			}
		default:
			row := img[(ci*p.H+iy)*p.W : (ci*p.H+iy+1)*p.W]
			ix0 := ox0*s - p.Pad + kx
			for t := range dd {
				dd[t] = 0
				if ix := ix0 + t*s; ix >= 0 && ix < p.W {
					dd[t] = row[ix]
				}
			}
		}
		if kx++; kx == p.KW {
			kx = 0
			if ky++; ky == p.KH {
				ky = 0
				ci++
			}
		}
	}
}

// copyRun copies src to dst (equal lengths). Runs whose length is a
// multiple of 4 go as 16-byte moves: the runs are a panel's width (16 or 32
// floats), where a memmove call per run would cost as much as the copy.
func copyRun(dst, src []float32) {
	if len(dst)%4 != 0 {
		copy(dst, src)
		return
	}
	src = src[:len(dst)]
	for i := 0; i+4 <= len(dst); i += 4 {
		*(*[4]float32)(dst[i:]) = *(*[4]float32)(src[i:])
	}
}
