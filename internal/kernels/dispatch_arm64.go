//go:build !noasm

package kernels

const (
	maxMR = 12
	maxNR = 8
)

// neonKernel is a 12×8 register block: 24 four-lane accumulators of the
// 32 NEON registers, five loads per 24 multiply-adds. NEON is part of every
// arm64 CPU, so there is nothing to detect.
var neonKernel = asmKernel("neon", neonRows, neonCols, 144, 256, sgemmKernelNEON)

// neonRows and neonCols are the register block of sgemmKernelNEON (see
// asmgen's neonKernel).
const neonRows, neonCols = 12, 8

// kernels lists the micro-kernels this build can run, fastest first.
func kernels() []*microKernel { return []*microKernel{&neonKernel, &goKernel} }

func bestKernel() *microKernel { return &neonKernel }

// sgemmKernelNEON is the NEON form of sgemmKernelGo for n 12×8 tiles (see
// microKernel.panels).
//
//go:noescape
func sgemmKernelNEON(k int, a, b, c *float32, ldc int, alpha, beta float32, n, as int, colBias, rowBias, res *float32)

// f16ToF32 decodes len(dst) fp16 values, eight at a time with FCVTL.
func f16ToF32(dst []float32, src []uint16) {
	n := len(dst)
	src = src[:n]
	if m := n &^ 7; m > 0 {
		f16ToF32NEON(&dst[0], &src[0], m)
		dst, src = dst[m:], src[m:]
	}
	f16ToF32Go(dst, src)
}

// f16ToF32NEON decodes n (a multiple of 8) fp16 values.
//
//go:noescape
func f16ToF32NEON(dst *float32, src *uint16, n int)

// softmaxCols is the online-softmax step of Attention; see softmaxColsGo.
func softmaxCols(s []float32, w int, m, l, corr []float32) {
	if w%4 != 0 || len(s) < w {
		softmaxColsGo(s, w, m, l, corr)
		return
	}
	_, _, _ = m[w-1], l[w-1], corr[w-1]
	softmaxColsNEON(&s[0], len(s)/w, w, &m[0], &l[0], &corr[0])
}

// softmaxColsNEON is softmaxColsGo for w a multiple of 4 and rows >= 1,
// with the same roundings (Go fuses its multiply-adds on arm64).
//
//go:noescape
func softmaxColsNEON(s *float32, rows, w int, m, l, corr *float32)

// sigmoidMul writes y = src*a + b, dst = y / (1 + exp(-k*y)); see
// sigmoidMulGo. Every element goes through the vector loop (the last n
// mod 4 padded to four lanes), so that its bits do not depend on where it
// lies in the slice.
func sigmoidMul(dst, src []float32, a, b, k float32) {
	n := len(src)
	dst = dst[:n]
	m := n &^ 3
	if m > 0 {
		sigmoidMulNEON(&dst[0], &src[0], m, a, b, k)
	}
	if m < n {
		var t [4]float32
		copy(t[:], src[m:])
		sigmoidMulNEON(&t[0], &t[0], 4, a, b, k)
		copy(dst[m:], t[:])
	}
}

// sigmoidMulNEON is sigmoidMulGo for n a multiple of 4 (see asmgen's
// sigmoidMulNEON for where the two may differ).
//
//go:noescape
func sigmoidMulNEON(dst, src *float32, n int, a, b, k float32)

// gelu32 writes the exact-erf GELU of src to dst; see GELU. As on amd64,
// every element goes through the vector loop (the last n mod 4 padded), so
// its bits do not depend on where it lies in the slice.
func gelu32(dst, src []float32) {
	n := len(src)
	dst = dst[:n]
	m := n &^ 3
	if m > 0 {
		geluNEON(&dst[0], &src[0], m)
	}
	if m < n {
		var t [4]float32
		copy(t[:], src[m:])
		geluNEON(&t[0], &t[0], 4)
		copy(dst[m:], t[:])
	}
}

// geluMul32 writes gelu32(src) times mul to dst (the same bits as gelu32
// followed by the product); see GEGLU.
func geluMul32(dst, src, mul []float32) {
	n := len(src)
	dst, mul = dst[:n], mul[:n]
	m := n &^ 3
	if m > 0 {
		geluMulNEON(&dst[0], &src[0], &mul[0], m)
	}
	if m < n {
		var t, u [4]float32
		copy(t[:], src[m:])
		copy(u[:], mul[m:])
		geluMulNEON(&t[0], &t[0], &u[0], 4)
		copy(dst[m:], t[:])
	}
}

// geluNEON is the amd64 GELU (geluAVX2) on four lanes, the same bits,
// for n a multiple of 4; see asmgen's geluNEON.
//
//go:noescape
func geluNEON(dst, src *float32, n int)

// geluMulNEON is geluNEON with each result multiplied by mul's element.
//
//go:noescape
func geluMulNEON(dst, src, mul *float32, n int)

func init() {
	wg4.inputRun, wg4.outputRun = wgInputRunVec(4, wgIn4NEON), wgOutputRunVec(4, wgOut4NEON)
	wg2.filterTaps, wg4.filterTaps = wgFilterTapsNEON, wgFilterTapsNEON
}

// wgFilterTapsNEON is wgFilterTapsGo with four filters transformed at once,
// for panels of a multiple of four lanes (the NEON kernel's twelve).
func wgFilterTapsNEON(a *wgAlgo, taps []float32, tw, kb, mr int, dst []float32, us int) {
	if mr%4 != 0 || kb == 0 {
		wgFilterTapsGo(a, taps, tw, kb, mr, dst, us)
		return
	}
	_, _ = taps[kb*9*tw-1], dst[(a.t-1)*us+kb*mr-1]
	if a.m == 4 {
		wgFilter4NEON(&taps[0], &dst[0], us, mr, kb, tw)
	} else {
		wgFilter2NEON(&taps[0], &dst[0], us, mr, kb, tw)
	}
}

// wgFilter2NEON and wgFilter4NEON are filter2 and filter4 of four filters
// at a time; see asmgen's wgFilterNEON.
//
//go:noescape
func wgFilter2NEON(taps, dst *float32, us, mr, kb, tw int)

//go:noescape
func wgFilter4NEON(taps, dst *float32, us, mr, kb, tw int)

// wgIn4NEON is input4 of four patches; see asmgen's wgIn4NEON.
//
//go:noescape
func wgIn4NEON(src *float32, stride int, dst *float32, vs int, tmp *float32)

// wgOut4NEON is output4 of four tiles with bias and residual; see asmgen's wgOut4NEON.
//
//go:noescape
func wgOut4NEON(src *float32, ms int, dst *float32, w int, b float32, res, tmp *float32)

// panelLanes is panelLanesGo with each group of four lanes transposed
// four depths at a time in NEON.
func panelLanes(dst, src []float32, ld, r0, valid, p0, kc, w int) {
	if kc < 4 || valid < 4 {
		panelLanesGo(dst, src, ld, r0, valid, p0, kc, w)
		return
	}
	dst = dst[:kc*w]
	if valid < w {
		clear(dst)
	}
	g, n := valid&^3, kc&^3
	for l := 0; l < g; l += 4 {
		_, _ = src[(r0+l+3)*ld+p0+n-1], dst[(n-1)*w+l+3]
		f32Transpose4NEON(&dst[l], &src[(r0+l)*ld+p0], ld, n, w)
	}
	transposeRest(dst, src[r0*ld+p0:], ld, w, valid, kc, g, n) // depths [n, kc) of lanes [0, g), all of the rest
}

// transposeTo writes dst[i*ldd+l] = src[l*lds+i] for l < lanes and i < n,
// four lanes by four columns at a time where it can.
func transposeTo(dst, src []float32, lds, ldd, lanes, n int) {
	g, m := lanes&^3, n&^3
	for l := 0; l < g && m > 0; l += 4 {
		_, _ = src[(l+3)*lds+m-1], dst[(m-1)*ldd+l+3]
		f32Transpose4NEON(&dst[l], &src[l*lds], lds, m, ldd)
	}
	transposeRest(dst, src, lds, ldd, lanes, n, g, m)
}

// f32Transpose4NEON writes dst[kk*w+l] = src[l*ld+kk] for four lanes l and
// n (a multiple of 4) depths kk.
//
//go:noescape
func f32Transpose4NEON(dst, src *float32, ld, n, w int)

// normRow is normRowGo, four lanes at a time where it can.
func normRow(out, x, gamma, beta []float32, m, s float32) {
	n := len(x)
	if n >= 4 {
		k := n &^ 3
		_, _, _ = out[k-1], gamma[k-1], beta[k-1]
		normRowNEON(&out[0], &x[0], &gamma[0], &beta[0], k, m, s)
		out, x, gamma, beta = out[k:], x[k:], gamma[k:], beta[k:]
	}
	normRowGo(out, x, gamma, beta, m, s)
}

// normRowNEON is normRowGo for n a multiple of 4, with the same bits.
//
//go:noescape
func normRowNEON(out, x, gamma, beta *float32, n int, m, s float32)

// sum16 is sum16Go; see moments.
func sum16(xs []float32, s *[16]float64) {
	if len(xs) == 0 {
		sum16Go(xs, s)
		return
	}
	sum16NEON(&xs[0], len(xs)/16, s)
}

// sqDev16 is sqDev16Go; see moments.
func sqDev16(xs []float32, mean float64, s *[16]float64) {
	if len(xs) == 0 {
		sqDev16Go(xs, mean, s)
		return
	}
	sqDev16NEON(&xs[0], len(xs)/16, mean, s)
}

// sum16NEON and sqDev16NEON are the vector forms of sum16Go and sqDev16Go
// over n16 groups of sixteen; see asmgen's momentsNEON.
//
//go:noescape
func sum16NEON(x *float32, n16 int, out *[16]float64)

//go:noescape
func sqDev16NEON(x *float32, n16 int, mean float64, out *[16]float64)
