//go:build !noasm

package kernels

//go:generate go run ./asmgen

import "golang.org/x/sys/cpu"

const (
	maxMR = 8
	maxNR = 32
)

var (
	hasAVX2   = cpu.X86.HasAVX2 && cpu.X86.HasFMA && cpu.X86.HasF16C
	hasAVX512 = hasAVX2 && cpu.X86.HasAVX512F
)

// avx512Kernel is an 8×32 register block: sixteen ZMM accumulators. Its
// 256-deep B panel (32 KiB) leaves room in a 48 KiB L1 for the A stream.
var avx512Kernel = asmKernel("avx512", 8, 32, 128, 256, sgemmKernelAVX512)

// avx2Kernel is a 6×16 register block: twelve YMM accumulators.
var avx2Kernel = asmKernel("avx2", 6, 16, 120, 320, sgemmKernelAVX2)

// kernels lists the micro-kernels this CPU can run, fastest first.
func kernels() []*microKernel {
	var ks []*microKernel
	if hasAVX512 {
		ks = append(ks, &avx512Kernel)
	}
	if hasAVX2 {
		ks = append(ks, &avx2Kernel)
	}
	return append(ks, &goKernel)
}

func bestKernel() *microKernel { return kernels()[0] }

// sgemmKernelAVX512 is the AVX-512 form of sgemmKernelGo for n 8×32 tiles
// (see microKernel.panels).
//
//go:noescape
func sgemmKernelAVX512(k int, a, b, c *float32, ldc int, alpha, beta float32, n, as int, colBias, rowBias, res *float32)

// sgemmKernelAVX2 is the AVX2/FMA form of sgemmKernelGo for n 6×16 tiles
// (see microKernel.panels).
//
//go:noescape
func sgemmKernelAVX2(k int, a, b, c *float32, ldc int, alpha, beta float32, n, as int, colBias, rowBias, res *float32)

// f16ToF32 decodes len(dst) fp16 values.
func f16ToF32(dst []float32, src []uint16) {
	n := len(dst)
	src = src[:n]
	if hasAVX2 && n >= 8 {
		m := n &^ 7
		f16ToF32F16C(&dst[0], &src[0], m)
		dst, src = dst[m:], src[m:]
	}
	f16ToF32Go(dst, src)
}

// f16ToF32F16C decodes n (a multiple of 8) fp16 values with VCVTPH2PS.
//
//go:noescape
func f16ToF32F16C(dst *float32, src *uint16, n int)

// softmaxCols is the online-softmax step of Attention; see softmaxColsGo.
func softmaxCols(s []float32, w int, m, l, corr []float32) {
	if !hasAVX2 || w%8 != 0 || len(s) < w {
		softmaxColsGo(s, w, m, l, corr)
		return
	}
	_, _, _ = m[w-1], l[w-1], corr[w-1]
	softmaxColsAVX2(&s[0], len(s)/w, w, &m[0], &l[0], &corr[0])
}

// softmaxColsAVX2 is softmaxColsGo for w a multiple of 8 and rows >= 1.
//
//go:noescape
func softmaxColsAVX2(s *float32, rows, w int, m, l, corr *float32)

// sigmoidMul writes y = src*a + b, dst = y / (1 + exp(-k*y)); see
// sigmoidMulGo. With AVX2 every element goes through the vector loop (the
// last n mod 8 padded to 8 lanes), whose results can differ from the Go
// loop's in the last bit, so that an element's bits do not depend on where
// it lies in the slice.
func sigmoidMul(dst, src []float32, a, b, k float32) {
	n := len(src)
	dst = dst[:n]
	if !hasAVX2 {
		sigmoidMulGo(dst, src, a, b, k)
		return
	}
	m := n &^ 7
	if m > 0 {
		sigmoidMulAVX2(&dst[0], &src[0], m, a, b, k)
	}
	if m < n { // through the vector loop too, as gelu32 does
		var t [8]float32
		copy(t[:], src[m:])
		sigmoidMulAVX2(&t[0], &t[0], 8, a, b, k)
		copy(dst[m:], t[:])
	}
}

// sigmoidMulAVX2 is sigmoidMulGo for n a multiple of 8, within an ulp.
//
//go:noescape
func sigmoidMulAVX2(dst, src *float32, n int, a, b, k float32)

// gelu32 writes the exact-erf GELU of src to dst; see GELU. With AVX2 the
// last n mod 8 elements go through the vector loop too (padded to 8 lanes),
// so an element's bits do not depend on where it lies in the slice: an
// activation fused into a product's epilogue sees slices cut differently
// from the separate pass's.
func gelu32(dst, src []float32) {
	n := len(src)
	dst = dst[:n]
	if !hasAVX2 {
		geluGo(dst, src)
		return
	}
	m := n &^ 7
	if m > 0 {
		geluAVX2(&dst[0], &src[0], m)
	}
	if m < n {
		var t [8]float32
		copy(t[:], src[m:])
		geluAVX2(&t[0], &t[0], 8)
		copy(dst[m:], t[:])
	}
}

// geluAVX2 is GELU for n a multiple of 8, within a few ulp of geluGo.
//
//go:noescape
func geluAVX2(dst, src *float32, n int)

// geluMul32 writes gelu32(src) times mul to dst (the same bits as gelu32
// followed by the product); see GEGLU.
func geluMul32(dst, src, mul []float32) {
	n := len(src)
	dst, mul = dst[:n], mul[:n]
	if !hasAVX2 {
		geluMulGo(dst, src, mul)
		return
	}
	m := n &^ 7
	if m > 0 {
		geluMulAVX2(&dst[0], &src[0], &mul[0], m)
	}
	if m < n {
		var t, u [8]float32
		copy(t[:], src[m:])
		copy(u[:], mul[m:])
		geluMulAVX2(&t[0], &t[0], &u[0], 8)
		copy(dst[m:], t[:])
	}
}

// geluMulAVX2 is geluAVX2 with each result multiplied by mul's element: the
// bits of geluAVX2 followed by that product.
//
//go:noescape
func geluMulAVX2(dst, src, mul *float32, n int)

// gatherRows copies w floats from src[base+offs[kk]:] to dst[kk*w:] for each kk.
func gatherRows(dst, src []float32, base int, offs []int32, w int) {
	if !hasAVX2 || (w != 16 && w != 32) || len(offs) == 0 {
		gatherRowsGo(dst, src, base, offs, w)
		return
	}
	// Bounds: the largest offset's row must lie inside src.
	hi := int32(0)
	for _, o := range offs {
		hi = max(hi, o)
	}
	_, _ = dst[len(offs)*w-1], src[base+int(hi)+w-1]
	gatherRowsAVX2(&dst[0], &src[base], &offs[0], len(offs), w)
}

// gatherRowsAVX2 is gatherRowsGo for w = 16 or 32 and n = len(offs) ≥ 1.
//
//go:noescape
func gatherRowsAVX2(dst, src *float32, offs *int32, n, w int)

func init() {
	if hasAVX2 {
		wg4.inputRun, wg4.outputRun = wgInputRunVec(8, wgIn4AVX2), wgOutputRunVec(8, wgOut4AVX2)
		wg2.filterTaps, wg4.filterTaps = wgFilterTapsAVX2, wgFilterTapsAVX2
	}
}

// wgFilterTapsAVX2 is wgFilterTapsGo with the filters of eight lanes
// transformed at once. The vector form writes eight lanes per depth,
// spilling past mr into the next depths' slots, so the last depths (whose
// spill would leave the panel) go through the Go form, as do panels wider
// than eight lanes.
func wgFilterTapsAVX2(a *wgAlgo, taps []float32, tw, kb, mr int, dst []float32, us int) {
	tail := kb
	if tw == 8 {
		tail = min(kb, ceilDiv(8-mr, mr))
	}
	if n := kb - tail; n > 0 {
		_, _ = taps[n*9*tw-1], dst[(a.t-1)*us+(n-1)*mr+8-1]
		if a.m == 4 {
			wgFilter4AVX2(&taps[0], &dst[0], us, mr, n)
		} else {
			wgFilter2AVX2(&taps[0], &dst[0], us, mr, n)
		}
	}
	wgFilterTapsGo(a, taps[(kb-tail)*9*tw:], tw, tail, mr, dst[(kb-tail)*mr:], us)
}

// wgIn4AVX2 is input4 of eight patches; see asmgen's wgIn4.
//
//go:noescape
func wgIn4AVX2(src *float32, stride int, dst *float32, vs int, tmp *float32)

// wgOut4AVX2 is output4 of eight tiles with bias and residual; see asmgen's wgOut4.
//
//go:noescape
func wgOut4AVX2(src *float32, ms int, dst *float32, w int, b float32, res, tmp *float32)

// wgFilter2AVX2 and wgFilter4AVX2 are filter2 and filter4 of eight filters
// at a time; see asmgen's wgFilter.
//
//go:noescape
func wgFilter2AVX2(taps, dst *float32, us, mr, kb int)

//go:noescape
func wgFilter4AVX2(taps, dst *float32, us, mr, kb int)

// normRow is normRowGo, eight lanes at a time where it can.
func normRow(out, x, gamma, beta []float32, m, s float32) {
	n := len(x)
	if hasAVX2 && n >= 8 {
		k := n &^ 7
		_, _, _ = out[k-1], gamma[k-1], beta[k-1]
		normRowAVX2(&out[0], &x[0], &gamma[0], &beta[0], k, m, s)
		out, x, gamma, beta = out[k:], x[k:], gamma[k:], beta[k:]
	}
	normRowGo(out, x, gamma, beta, m, s)
}

// normRowAVX2 is normRowGo for n a multiple of 8, with the same bits.
//
//go:noescape
func normRowAVX2(out, x, gamma, beta *float32, n int, m, s float32)

// sum16 is sum16Go; see moments.
func sum16(xs []float32, s *[16]float64) {
	if !hasAVX2 || len(xs) == 0 {
		sum16Go(xs, s)
		return
	}
	sum16AVX2(&xs[0], len(xs)/16, s)
}

// sqDev16 is sqDev16Go; see moments.
func sqDev16(xs []float32, mean float64, s *[16]float64) {
	if !hasAVX2 || len(xs) == 0 {
		sqDev16Go(xs, mean, s)
		return
	}
	sqDev16AVX2(&xs[0], len(xs)/16, mean, s)
}

// sum16AVX2 and sqDev16AVX2 are the vector forms of sum16Go and sqDev16Go
// over n16 groups of sixteen; see asmgen's moments.
//
//go:noescape
func sum16AVX2(x *float32, n16 int, out *[16]float64)

//go:noescape
func sqDev16AVX2(x *float32, n16 int, mean float64, out *[16]float64)

// prefetchRows asks for rows rows of n floats of x, stride apart from
// x[off], to be brought into cache.
func prefetchRows(x []float32, off, stride, rows, n int) {
	if rows <= 0 || n <= 0 {
		return
	}
	_ = x[off+(rows-1)*stride+n-1]
	prefetchRowsAsm(&x[off], stride, rows, n)
}

// prefetchRowsAsm prefetches every cache line of the rows.
//
//go:noescape
func prefetchRowsAsm(p *float32, stride, rows, n int)

// panelLanes is panelLanesGo with each group of eight lanes, or six lanes
// (an AVX2 A panel), transposed eight depths at a time in AVX2.
func panelLanes(dst, src []float32, ld, r0, valid, p0, kc, w int) {
	if !hasAVX2 || kc < 8 || valid < 8 && valid != 6 {
		panelLanesGo(dst, src, ld, r0, valid, p0, kc, w)
		return
	}
	g, n := transposeLanes(dst, src, ld, r0, valid, p0, kc, w, f32Transpose8AVX2, f32Transpose6AVX2)
	transposeRest(dst, src[r0*ld+p0:], ld, w, valid, kc, g, n) // depths [n, kc) of lanes [0, g), all of the rest
}

// transposeLanes is the vector part of panelLanes and panelLanes16: it
// zeroes the lanes of a partial panel past valid, then runs t8 over each
// group of eight lanes (or t6 over six lanes when valid is 6) for the
// first n = kc&^7 depths, and returns how many lanes (g) and depths it
// packed.
func transposeLanes[T float32 | uint16](dst []float32, src []T, ld, r0, valid, p0, kc, w int, t8, t6 func(dst *float32, src *T, ld, n, w int)) (g, n int) {
	dst = dst[:kc*w]
	g, n = valid&^7, kc&^7
	switch {
	case valid == 6 && w == 8:
		// t6 writes lanes 6 and 7 as zeros but at each block's last
		// depth; only those and the depths past n are left (the Winograd
		// filter taps of the AVX2 kernel's six rows: clearing the whole
		// panel first had been 14% of F(2x2)'s CPU time at 8x8).
		for kk := 7; kk < n; kk += 8 {
			dst[kk*w+6], dst[kk*w+7] = 0, 0
		}
		for kk := n; kk < kc; kk++ {
			dst[kk*w+6], dst[kk*w+7] = 0, 0
		}
	case valid < w:
		clear(dst)
	}
	if valid == 6 {
		g = 6
		_, _ = src[(r0+5)*ld+p0+n-1], dst[(n-1)*w+5]
		t6(&dst[0], &src[r0*ld+p0], ld, n, w)
	}
	for l := 0; l+8 <= g; l += 8 {
		_, _ = src[(r0+l+7)*ld+p0+n-1], dst[(n-1)*w+l+7]
		t8(&dst[l], &src[(r0+l)*ld+p0], ld, n, w)
	}
	return g, n
}

// transposeTo writes dst[i*ldd+l] = src[l*lds+i] for l < lanes and i < n,
// eight lanes by eight columns at a time where it can (a copy: the same
// values wherever they go).
func transposeTo(dst, src []float32, lds, ldd, lanes, n int) {
	g, m := 0, 0
	if hasAVX2 && n >= 8 {
		g, m = lanes&^7, n&^7
		for l := 0; l+8 <= g; l += 8 {
			_, _ = src[(l+7)*lds+m-1], dst[(m-1)*ldd+l+7]
			f32Transpose8AVX2(&dst[l], &src[l*lds], lds, m, ldd)
		}
	}
	transposeRest(dst, src, lds, ldd, lanes, n, g, m)
}

// f32Transpose8AVX2 writes dst[kk*w+l] = src[l*ld+kk] for eight lanes l
// and n (a multiple of 8) depths kk.
//
//go:noescape
func f32Transpose8AVX2(dst, src *float32, ld, n, w int)

// f32Transpose6AVX2 is f32Transpose8AVX2 for six lanes; lanes 6 and 7
// are written as zeros except at each block's last depth, which stores
// only its six lanes (so for w = 6 nothing past dst[n*6-1] is written).
//
//go:noescape
func f32Transpose6AVX2(dst, src *float32, ld, n, w int)

// f16Transpose6AVX2 is f32Transpose6AVX2 for fp16 rows.
//
//go:noescape
func f16Transpose6AVX2(dst *float32, src *uint16, ld, n, w int)

// panelLanes16 is panelLanes16Go with each group of eight lanes, or six
// lanes, decoded and transposed eight depths at a time in AVX2.
func panelLanes16(dst []float32, src []uint16, ld, r0, valid, p0, kc, w int) {
	if !hasAVX2 || kc < 8 || valid < 8 && valid != 6 {
		panelLanes16Go(dst, src, ld, r0, valid, p0, kc, w)
		return
	}
	g, n := transposeLanes(dst, src, ld, r0, valid, p0, kc, w, f16Transpose8AVX2, f16Transpose6AVX2)
	if n < kc || g < valid {
		panelLanes16Tail(dst, src, ld, r0, g, valid, p0, n, kc, w)
	}
}

// panelLanes16Tail finishes a panelLanes16 whose vector part did depths
// [0, n) of lanes [0, g): depths [n, kc) of those lanes and every depth of
// lanes [g, valid).
func panelLanes16Tail(dst []float32, src []uint16, ld, r0, g, valid, p0, n, kc, w int) {
	buf := getBuf(kc)
	defer putBuf(buf)
	for l := range valid {
		k0 := n
		if l >= g {
			k0 = 0
		}
		vals := (*buf)[k0:kc]
		f16ToF32(vals, src[(r0+l)*ld+p0+k0:])
		for i, v := range vals {
			dst[(k0+i)*w+l] = v
		}
	}
}

// f16Transpose8AVX2 writes dst[kk*w+l] = fp16 src[l*ld+kk] for eight lanes
// l and n (a multiple of 8) depths kk.
//
//go:noescape
func f16Transpose8AVX2(dst *float32, src *uint16, ld, n, w int)
