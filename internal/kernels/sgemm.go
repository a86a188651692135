package kernels

// Sgemm computes C = alpha*op(A)*op(B) + beta*C with op(X) = X or Xᵀ, for
// row-major matrices with leading dimensions lda, ldb and ldc (BLAS
// semantics; op(A) is m×k, op(B) is k×n, C is m×n). beta == 0 ignores C's
// old contents, NaNs included. The naive reference is
//
//	for i := 0; i < m; i++ {
//		for j := 0; j < n; j++ {
//			var s float32
//			for p := 0; p < k; p++ {
//				s += A(i, p) * B(p, j) // A(i, p) = a[i*lda+p], or a[p*lda+i] if transA
//			}
//			c[i*ldc+j] = alpha*s + beta*c[i*ldc+j]
//		}
//	}
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	needOp("Sgemm", "a", len(a), transA, m, k, lda)
	needOp("Sgemm", "b", len(b), transB, k, n, ldb)
	needMat("Sgemm", "c", len(c), m, n, ldc)
	sgemm(active, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

func sgemm(mk *microKernel, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	g := gemmOp{m: m, n: n, k: k, alpha: alpha, beta: beta, c: c, ldc: ldc,
		packA: matPacker(a, lda, m, !transA),
		packB: matPacker(b, ldb, n, transB),
	}
	g.run(mk)
}

// SgemmF16B is Sgemm with B stored as IEEE fp16 bits, decoded to float32
// while packing: B(p, j) = F16(b[p*ldb+j]), or F16(b[j*ldb+p]) if transB.
func SgemmF16B(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []uint16, ldb int, beta float32, c []float32, ldc int) {
	needOp("SgemmF16B", "a", len(a), transA, m, k, lda)
	needOp("SgemmF16B", "b", len(b), transB, k, n, ldb)
	needMat("SgemmF16B", "c", len(c), m, n, ldc)
	sgemmF16B(active, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

func sgemmF16B(mk *microKernel, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []uint16, ldb int, beta float32, c []float32, ldc int) {
	g := gemmOp{m: m, n: n, k: k, alpha: alpha, beta: beta, c: c, ldc: ldc,
		packA: matPacker(a, lda, m, !transA),
		packB: matPacker16(b, ldb, n, transB),
	}
	g.run(mk)
}

// Weights is a weight tensor held either as float32 or as fp16 bits; exactly
// one of the two is set.
type Weights struct {
	F32 []float32
	F16 []uint16
}

// packer returns the packing callback for w as a row-major matrix with the
// given lanes and leading dimension.
func (w Weights) packer(ld, lanes int, laneMajor bool) func(dst []float32, l0, n, p0, kc, wd int) {
	if w.F16 != nil {
		return matPacker16(w.F16, ld, lanes, laneMajor)
	}
	return matPacker(w.F32, ld, lanes, laneMajor)
}

// Linear computes out = x·Wᵀ + bias for x [rows, inF], W [outF, inF]
// (PyTorch's layout) and out [rows, outF]; bias may be nil. The naive reference is
//
//	for r := 0; r < rows; r++ {
//		for o := 0; o < outF; o++ {
//			var s float32
//			for i := 0; i < inF; i++ {
//				s += x[r*inF+i] * W[o*inF+i]
//			}
//			out[r*outF+o] = s + bias[o]
//		}
//	}
func Linear(out, x []float32, w Weights, bias []float32, rows, inF, outF int) {
	needLen("Linear", "out", len(out), rows*outF)
	needLen("Linear", "x", len(x), rows*inF)
	needLen("Linear", "w", w.len("Linear"), outF*inF)
	if bias != nil {
		needLen("Linear", "bias", len(bias), outF)
	}
	linear(active, out, x, w, bias, rows, inF, outF)
}

func linear(mk *microKernel, out, x []float32, w Weights, bias []float32, rows, inF, outF int) {
	linearWith(mk, out, x, w, bias, rows, inF, outF, aAuto)
}

// linearWith is linear with A packed as ap says.
func linearWith(mk *microKernel, out, x []float32, w Weights, bias []float32, rows, inF, outF int, ap aPacking) {
	g := gemmOp{m: rows, n: outF, k: inF, alpha: 1, c: out, ldc: outF, aPacking: ap,
		packA: matPacker(x, inF, rows, true),
		packB: w.packer(inF, outF, true),
	}
	if bias != nil {
		g.epilogue = func(i0, i1, j0, j1 int) {
			for i := i0; i < i1; i++ {
				row := out[i*outF+j0 : i*outF+j1]
				for j, bj := range bias[j0:j1] {
					row[j] += bj
				}
			}
		}
	}
	g.run(mk)
}
