//go:build noasm || !(amd64 || arm64)

package kernels

const (
	maxMR = 4
	maxNR = 4
)

// kernels lists the micro-kernels this build can run, fastest first.
func kernels() []*microKernel { return []*microKernel{&goKernel} }

func bestKernel() *microKernel { return &goKernel }

// f16ToF32 decodes len(dst) fp16 values.
func f16ToF32(dst []float32, src []uint16) { f16ToF32Go(dst, src[:len(dst)]) }

// softmaxCols is the online-softmax step of Attention; see softmaxColsGo.
func softmaxCols(s []float32, w int, m, l, corr []float32) { softmaxColsGo(s, w, m, l, corr) }

// sigmoidMul writes y = src*a + b, dst = y / (1 + exp(-k*y)); see sigmoidMulGo.
func sigmoidMul(dst, src []float32, a, b, k float32) { sigmoidMulGo(dst, src, a, b, k) }

// gelu32 writes the exact-erf GELU of src to dst; see GELU.
func gelu32(dst, src []float32) { geluGo(dst, src) }

// geluMul32 writes gelu32(src) times mul to dst; see GEGLU.
func geluMul32(dst, src, mul []float32) { geluMulGo(dst, src, mul) }

// transposeTo writes dst[i*ldd+l] = src[l*lds+i] for l < lanes and i < n.
func transposeTo(dst, src []float32, lds, ldd, lanes, n int) {
	transposeRest(dst, src, lds, ldd, lanes, n, 0, 0)
}

// panelLanes packs lanes of a row-major source; see panelLanesGo.
func panelLanes(dst, src []float32, ld, r0, valid, p0, kc, w int) {
	panelLanesGo(dst, src, ld, r0, valid, p0, kc, w)
}

// normRow is normRowGo.
func normRow(out, x, gamma, beta []float32, m, s float32) { normRowGo(out, x, gamma, beta, m, s) }

// sum16 is sum16Go; see moments.
func sum16(xs []float32, s *[16]float64) { sum16Go(xs, s) }

// sqDev16 is sqDev16Go; see moments.
func sqDev16(xs []float32, mean float64, s *[16]float64) { sqDev16Go(xs, mean, s) }
