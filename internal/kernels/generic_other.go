//go:build noasm || !amd64

package kernels

// gatherRows copies w floats from src[base+offs[kk]:] to dst[kk*w:] for each kk.
func gatherRows(dst, src []float32, base int, offs []int32, w int) {
	gatherRowsGo(dst, src, base, offs, w)
}

// prefetchRows is a hint only; without assembly it does nothing.
func prefetchRows(x []float32, off, stride, rows, n int) {}

// panelLanes16 is panelLanes for an fp16 source; see panelLanes16Go.
func panelLanes16(dst []float32, src []uint16, ld, r0, valid, p0, kc, w int) {
	panelLanes16Go(dst, src, ld, r0, valid, p0, kc, w)
}
