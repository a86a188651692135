//go:build !noasm && (amd64 || arm64)

package kernels

// The drivers of the assembly forms shared by the amd64 and arm64 builds.

// asmKernel is the microKernel of an assembly micro-kernel f with an
// mr×nr register block: multi checks the operands' bounds and calls f on
// all panels at once, fn calls it on one.
func asmKernel(name string, mr, nr, mc, kc int, f func(k int, a, b, c *float32, ldc int, alpha, beta float32, n, as int, colBias, rowBias, res *float32)) microKernel {
	multi := func(n, k int, a []float32, as int, b, c []float32, ldc int, alpha, beta float32, add tileAdds) {
		_, _, _ = a[(n-1)*as+mr*k-1], b[nr*k-1], c[(mr*n-1)*ldc+nr-1]
		col, row, res := add.pointers(n*mr, nr, ldc)
		f(k, &a[0], &b[0], &c[0], ldc, alpha, beta, n, as, col, row, res)
	}
	return microKernel{name: name, mr: mr, nr: nr, mc: mc, kc: kc, multi: multi,
		fn: func(k int, a, b, c []float32, ldc int, alpha, beta float32) {
			multi(1, k, a, 0, b, c, ldc, alpha, beta, tileAdds{})
		}}
}

// wgInputRunVec is wgInputRunGo for F(4×4, 3×3) with in4, a vector form
// of input4 over lanes patches at once (reading 4*lanes+4 floats of each
// patch row: the strip's slack covers the last two).
func wgInputRunVec(lanes int, in4 func(src *float32, stride int, dst *float32, vs int, tmp *float32)) func(a *wgAlgo, strip []float32, stride int, dst []float32, vs, run int) {
	return func(a *wgAlgo, strip []float32, stride int, dst []float32, vs, run int) {
		var tmp [36 * 8]float32
		l := 0
		for ; l+lanes <= run; l += lanes {
			_, _ = strip[4*l+5*stride+4*lanes+3], dst[l+35*vs+lanes-1]
			in4(&strip[4*l], stride, &dst[l], vs, &tmp[0])
		}
		wgInputRunGo(a, strip[4*l:], stride, dst[l:], vs, run-l)
	}
}

// wgOutputRunVec is wgOutputRunGo for F(4×4, 3×3) with out4, a vector
// form of output4 (with bias and residual) over lanes tiles at once.
func wgOutputRunVec(lanes int, out4 func(src *float32, ms int, dst *float32, w int, b float32, res, tmp *float32)) func(a *wgAlgo, src []float32, ms int, o []float32, w int, b float32, res []float32, run int, y *[16]float32) {
	return func(a *wgAlgo, src []float32, ms int, o []float32, w int, b float32, res []float32, run int, y *[16]float32) {
		var tmp [24 * 8]float32
		l := 0
		for ; l+lanes <= run; l += lanes {
			_, _ = src[l+35*ms+lanes-1], o[4*l+3*w+4*lanes-1]
			var r *float32
			if res != nil {
				_ = res[4*l+3*w+4*lanes-1]
				r = &res[4*l]
			}
			out4(&src[l], ms, &o[4*l], w, b, r, &tmp[0])
		}
		if l < run {
			wgOutputRunGo(a, src[l:], ms, o[4*l:], w, b, residualAt(res, 4*l), run-l, y)
		}
	}
}
